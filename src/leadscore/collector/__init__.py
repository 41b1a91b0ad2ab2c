"""leadscore.collector: the event store's HTTP front door.

KServe's inference logger posts every request and response here as CloudEvents; CRMs post
outcomes; the operator and ``leadscore experiment report`` read per-arm summaries; and
``leadscore collector export`` turns scored-and-settled leads back into a training set.
"""
