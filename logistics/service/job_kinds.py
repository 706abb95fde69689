"""Names of the durable jobs, shared by the code that enqueues them and the code that runs them."""

BOOK = "book"
CANCEL = "cancel"
POOL_REFILL = "pool_refill"
SYNC_OFFLINE = "sync_offline"
