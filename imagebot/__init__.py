"""imagebot: image-update automation for GitOps repositories."""

__all__ = ["__version__"]

__version__ = "0.1.0"
