"""labkit — the small helper package every lab of *Machine Learning Engineering on AWS* imports.

The notebooks show the idea; labkit hides the plumbing: which backend runs the lab (moto and
SageMaker local mode on this machine, or a real account), Docker, waiting and cleanup.

    import labkit
    lab = labkit.start_lab("01-iam-cross-account")
    s3 = lab.client("s3")
    ...
    lab.cleanup()
"""

from labkit import banner, docker, paths
from labkit.backend import BACKEND_ENV, Backend, current_backend, current_region
from labkit.errors import DockerUnavailableError, LabKitError, OffMachineRequestError
from labkit.session import Lab, active_lab, lab_context, start_lab

__all__ = [
    "BACKEND_ENV",
    "Backend",
    "DockerUnavailableError",
    "Lab",
    "LabKitError",
    "OffMachineRequestError",
    "active_lab",
    "banner",
    "docker",
    "paths",
    "current_backend",
    "current_region",
    "lab_context",
    "start_lab",
]

__version__ = "0.1.0"
