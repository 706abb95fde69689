"""Names of the durable jobs, shared by the code that enqueues them and the code that runs them."""

BOOK = "book"
CANCEL = "cancel"
