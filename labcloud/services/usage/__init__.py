from labcloud.services.usage.service import SERVICE

__all__ = ["SERVICE"]
