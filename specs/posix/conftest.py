"""Fixtures shared by the POSIX IPC specs (message queues, semaphores, shared memory)."""
