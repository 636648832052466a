"""Transports between the processes of one host: the lane (a Unix socket from a driver or a
worker to a worker) and the wire format of a task process's pipe."""
