"""Offline stand-ins, simulators and synthetic data: what AWS would compute, made here.

Nothing in this folder is a lesson. Each module stands in for something the local backend
cannot run (a service's scheduler, a cloud's clock, a managed model), or makes the data a
lab needs; the lab says where the stand-in differs from AWS.
"""
