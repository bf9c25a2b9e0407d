"""What the ACK SageMaker controller does, inside labcloud: each object's spec becomes SageMaker calls on this
labcloud, and what SageMaker says comes back as the object's status (reconcile.py), one object at a time
from a queue that writes, SageMaker's state-change events and a periodic resync fill (loop.py)."""
