"""The catalogue of process-level operations an actor can be told to perform.

This is the contract shared by three parties:

* the *kernel* backend (:mod:`conformance.backends.kernel`) performs each
  operation with the real system call, inside an actor process;
* the *reference model* (:mod:`conformance.models`) predicts the outcome of
  each operation without any system call;
* the harness and the specs, which name operations by the strings below.

Arguments are plain data (ints, bytes, str, tuples) so that a step list can be
printed, pickled to an actor, and written into a standalone reproducer.
Two kinds of argument are symbolic and resolved by the harness:

* file names are relative paths: every actor's working directory is the
  scenario's private directory, so ``"f"`` means the same file to all actors
  and to the model;
* :class:`ActorRef` names another actor; the harness replaces it with that
  actor's real pid before the step is sent (the model resolves it itself).

Return values are normalised so the model can predict them exactly (a
``fstat`` returns the file type and size, not an inode number).
"""

from __future__ import annotations

from .opspec import ActorRef as ActorRef  # re-exported: specs and models name actors with it
from .opspec import OpSpec
from .posix_mq_ops import POSIX_MQ_OPS
from .posix_semshm_ops import POSIX_SEMSHM_OPS
from .sysv_ops import SYSV_OPS

OPS: dict[str, OpSpec] = {
    spec.name: spec
    for spec in (
        OpSpec("open", "open(path: str, flags: int, mode: int = 0o644)", "new descriptor",
               ("open", "openat")),
        OpSpec("close", "close(fd: int)", "0"),
        OpSpec("dup", "dup(fd: int)", "new descriptor"),
        OpSpec("dup2", "dup2(oldfd: int, newfd: int)", "newfd"),
        OpSpec("dup3", "dup3(oldfd: int, newfd: int, flags: int)", "newfd"),
        OpSpec("fcntl", "fcntl(fd: int, cmd: int, arg: int = 0)", "int result"),
        OpSpec("read", "read(fd: int, count: int)", "bytes read", ("read",)),
        OpSpec("write", "write(fd: int, data: bytes)", "bytes written", ("write",)),
        OpSpec("lseek", "lseek(fd: int, offset: int, whence: int)", "new offset"),
        OpSpec("pipe", "pipe()", "(read_fd, write_fd)"),
        OpSpec("pipe2", "pipe2(flags: int)", "(read_fd, write_fd)"),
        OpSpec("mkfifo", "mkfifo(path: str, mode: int = 0o644)", "0"),
        OpSpec("unlink", "unlink(path: str)", "0"),
        OpSpec("fstat", "fstat(fd: int)", "(type, size): type one of '-', 'p', 'c', 'd', 's'"),
        OpSpec("stat", "stat(path: str)", "(type, size) as fstat"),
        OpSpec("kcmp_file", "kcmp_file(other: ActorRef, fd: int, other_fd: int)",
               "True if both descriptors refer to one open file description"),
        OpSpec("fd_list", "fd_list()", "sorted tuple of this process's open descriptors"),
        OpSpec("kill", "kill(target: ActorRef, sig: int)", "0"),
        OpSpec("signal", "signal(sig: int, disposition: str)",
               "0; disposition is 'default', 'ignore' or 'count'"),
        OpSpec("signal_count", "signal_count(sig: int)",
               "how many times a 'count' handler has run for sig"),
        OpSpec("sigprocmask", "sigprocmask(how: str, sigs: tuple[int, ...])",
               "the previous mask as a sorted tuple; how is 'block', 'unblock' or 'set'"),
        OpSpec("sigpending", "sigpending()", "sorted tuple of signals pending for the process"),
        OpSpec("sigtimedwait", "sigtimedwait(sigs: tuple[int, ...], timeout_ns: int)",
               "{'signo', 'code', 'pid', 'value'} of one accepted signal (pid as the sender); "
               "EAGAIN when none arrives in time", ("rt_sigtimedwait",)),
        OpSpec("sigqueue", "sigqueue(target: ActorRef, sig: int, value: int)", "0"),
        OpSpec("setvar", "setvar(name: str, value: int)", "0"),
        OpSpec("getvar", "getvar(name: str)", "the value, or None"),
        OpSpec("socketpair", "socketpair()", "(fd, fd): an AF_UNIX stream pair"),
        OpSpec("sendfd", "sendfd(sock: int, fd: int)", "bytes sent (1), the fd rides in SCM_RIGHTS",
               ("sendmsg",)),
        OpSpec("recvfd", "recvfd(sock: int)", "the received descriptor", ("recvmsg",)),
        OpSpec("unix_bind", "unix_bind(path: str)",
               "new AF_UNIX datagram socket bound to path: a meeting point for unrelated actors"),
        OpSpec("unix_connect", "unix_connect(path: str)",
               "new AF_UNIX datagram socket connected to the one bound at path"),
        OpSpec("socket", "socket(domain: str, type: str)",
               "new descriptor; domain 'unix' or 'inet', type 'stream', 'dgram' or 'seqpacket'"),
        OpSpec("bind", "bind(fd: int, address: str | int)",
               "0; a path for unix, a port on 127.0.0.1 for inet (0 picks one)"),
        OpSpec("listen", "listen(fd: int, backlog: int)", "0"),
        OpSpec("accept", "accept(fd: int)", "the connected descriptor", ("accept", "accept4")),
        OpSpec("connect", "connect(fd: int, address: str | int)", "0", ("connect",)),
        OpSpec("local_port", "local_port(fd: int)", "the inet port the socket is bound to"),
        OpSpec("shutdown", "shutdown(fd: int, how: int)", "0"),
        OpSpec("poll", "poll(fd: int, events: tuple[str, ...], timeout_ms: int)",
               "the names of the events poll(2) reported, sorted ('POLLERR' and 'POLLHUP' come "
               "unasked); () when the timeout ran out; -1 waits for ever", ("poll", "ppoll")),
        OpSpec("socketpair_of", "socketpair_of(type: str)",
               "(fd, fd): an AF_UNIX pair of 'stream', 'dgram' or 'seqpacket' sockets"),
        OpSpec("send", "send(fd: int, data: bytes, flags: tuple[str, ...])",
               "bytes sent; flags are names such as 'MSG_NOSIGNAL' or 'MSG_DONTWAIT'",
               ("sendto",)),
        OpSpec("recv", "recv(fd: int, count: int, flags: tuple[str, ...])",
               "bytes received; flags are names such as 'MSG_PEEK' or 'MSG_DONTWAIT'",
               ("recvfrom",)),
        OpSpec("ftruncate", "ftruncate(fd: int, length: int)", "0"),
        OpSpec("mmap", "mmap(fd: int, length: int, prot: str, kind: str)",
               "a mapping handle (lowest unused small int); prot 'r' or 'rw'; kind 'shared', "
               "'private', 'shared-anon' or 'private-anon' (fd ignored for anonymous)"),
        OpSpec("map_write", "map_write(handle: int, offset: int, data: bytes)",
               "bytes stored; touching a page past the file's end kills with SIGBUS, writing a "
               "read-only mapping with SIGSEGV"),
        OpSpec("map_read", "map_read(handle: int, offset: int, count: int)", "bytes"),
        OpSpec("msync", "msync(handle: int)", "0"),
        OpSpec("munmap", "munmap(handle: int)", "0"),
        OpSpec("open_proc_fd", "open_proc_fd(owner: ActorRef, fd: int, flags: int)",
               "new descriptor for /proc/<owner>/fd/<fd>", ("open", "openat")),
        OpSpec("wait", "wait(child: ActorRef)",
               "('exited', status) or ('killed', 'SIGNAME')", ("wait4", "waitid")),
        OpSpec("shell", "shell(command: str)",
               "(exit status, stdout text) of /bin/sh -c command run in the scenario dir",
               ("wait4", "waitid", "read")),
        OpSpec("exit", "exit(status: int)", "the actor exits; outcome is exit"),
        # fork is performed by the actor runtime itself: the child becomes a
        # new actor; the outcome in the parent is the child's ActorRef.
        OpSpec("fork", "fork(child: str)", "ActorRef(child): the new child actor, named by the scenario"),
        OpSpec("getpid", "getpid()", "the pid (compared only through ActorRef)"),
    )
}

# The System V and POSIX operations share the one catalogue.
OPS.update(SYSV_OPS)
OPS.update(POSIX_MQ_OPS)
OPS.update(POSIX_SEMSHM_OPS)
