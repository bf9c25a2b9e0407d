"""SageMaker's control plane: training, hosting, transform, ... as labcloud runs them."""
