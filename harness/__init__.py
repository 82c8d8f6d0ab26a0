"""gilbench's host side: discover -> provision -> run -> collect -> analyze -> render -> publish.

One module per pipeline step (``interpreters``, ``provision``, ``run``, ``collect``,
``analysis``, ``charts``, ``report``, ``publish``) behind the ``cli`` front end.  This
package file stays empty of imports: ``toxfile.py`` imports ``harness.interpreters``
inside tox itself, which must not pull in pandas or matplotlib.
"""
