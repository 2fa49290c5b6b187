"""Sweeps: many runs of one base spec across settings and seeds.

plan (what varies, expanded into runs), engines (where runs run), runner (running them),
folder (the sweep folder and its summary). The `seqnet sweep` command is seqnet.cli.sweep.
"""
