"""Pixel-only PyBullet tabletop manipulation: a CALVIN-like Franka scene, 20 tasks, scripted experts.

Only :mod:`vw_envs.tabletop.sim` imports pybullet, and only when an env is made.
"""
