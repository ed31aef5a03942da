"""``ipc-conformance bench``: how fast each IPC mechanism moves data on this machine.

Seed claim S20 says shared memory is the fastest IPC method. That is a
statement about speed, which no conformance clause can decide, so it is
decided by measurement instead:

* a C peer (``fixtures/bench/ipcbench.c``, compiled at run time like the
  other peers) forks a partner and times one mechanism with
  ``clock_gettime(CLOCK_MONOTONIC)``: the round trip of a small message
  (latency) and a bulk transfer of 4 KiB, 64 KiB or 1 MiB messages
  (throughput);
* :mod:`.runner` runs every (mechanism, size) case many times, interleaved,
  so the noise of a shared machine falls on all mechanisms alike;
* :mod:`.stats` reduces the samples to a median and quartiles;
* :mod:`.verdict` decides S20 from those numbers, with the figures that
  decide it in the explanation;
* :mod:`.render` writes ``bench.json``, ``bench.md``, ``bench.png`` and
  ``bench.html``; :mod:`.document` reads a stored ``bench.json`` back, so
  ``ipc-conformance claims --bench bench.json`` can use its verdict.
"""
