"""Asking for work and starting it: job kinds, job files and states, the scheduler, and the
server-side halves of every job (requests, checks, states). No TensorFlow: the bodies are in
core.jobs and run in their own process.
"""
