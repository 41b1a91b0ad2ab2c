"""Who is calling, and may they do this: Kubernetes TokenReview and SubjectAccessReview.

Shared by every leadscore server that acts on a user's behalf (the console, the collector), so
the rules for trusting a bearer token live in one place.
"""

from leadscore.auth.kube import Access, User, allowed, review_access, review_token

__all__ = ["Access", "User", "allowed", "review_access", "review_token"]
