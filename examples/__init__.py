"""Examples for integrators (the approval system vendor): copy freely."""
