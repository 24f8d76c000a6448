"""The door controller's coordination as a sans-IO core: input values in, effects out.

No threads, no locks, no I/O; every input comes with the time (:class:`inputs.Now`). The shell
(``hardware/controller.py``) feeds it and carries out the effects it returns.
"""
