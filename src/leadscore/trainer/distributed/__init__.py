"""``leadscore train|score --engine ray``: the same training and scoring code, spread over a Ray
cluster (a KubeRay ``RayJob``, or ``ray start`` by hand) when a team's leads outgrow one pod.

Ray is imported only here, and only when the Ray engine is asked for: the default trainer image
does not carry it (pyproject's ``ray`` extra, the ``trainer-ray`` image). docs/scale.md says when
to switch and what is not built yet.
"""
