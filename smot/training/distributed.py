"""Process group set-up for one code path on CPU, one GPU, torchrun and SLURM.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT. Under `srun` without
torchrun, the SLURM_* variables give the same facts (MASTER_ADDR: the first host of the job unless
set). One process (no variables, or a world of 1) runs without a process group.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import torch
import torch.distributed as dist

from smot.errors import UsageError


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """The mean of a tensor over processes (itself in one process)."""
        if self.world_size == 1:
            return value
        value = value.clone()
        dist.all_reduce(value)
        return value / self.world_size

    def barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier()


def first_host(nodelist: str) -> str:
    """The first host of a SLURM node list: `gpu[03-05,7],cpu1` -> `gpu03`."""
    match = re.match(r"([^,\[]+)(?:\[([^\]]+)\])?", nodelist)
    if not match:
        return nodelist
    prefix, ranges = match.groups()
    if not ranges:
        return prefix
    return prefix + re.split(r"[-,]", ranges)[0]


def from_environment(env: dict[str, str] | None = None) -> Dist:
    """Rank, world size and local rank from torchrun's or SLURM's variables (updating `env` so that
    torch.distributed's env:// rendezvous finds them)."""
    env = os.environ if env is None else env
    try:
        if "RANK" in env and "WORLD_SIZE" in env:
            return Dist(int(env["RANK"]), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", 0)))
        if int(env.get("SLURM_NTASKS", "1")) > 1 and "SLURM_PROCID" in env:
            d = Dist(int(env["SLURM_PROCID"]), int(env["SLURM_NTASKS"]), int(env.get("SLURM_LOCALID", 0)))
            env["RANK"], env["WORLD_SIZE"], env["LOCAL_RANK"] = str(d.rank), str(d.world_size), str(d.local_rank)
            nodes = env.get("SLURM_JOB_NODELIST", env.get("SLURM_NODELIST", "127.0.0.1"))
            env.setdefault("MASTER_ADDR", first_host(nodes))
            env.setdefault("MASTER_PORT", str(29500 + int(env.get("SLURM_JOB_ID", "0")) % 1000))
            return d
    except ValueError as e:
        raise UsageError(f"bad distributed environment variable: {e}") from None
    return Dist()


def setup(device_type: str) -> Dist:
    """Join the process group when there is more than one process (NCCL on CUDA, else gloo)."""
    d = from_environment()
    if d.world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo", rank=d.rank, world_size=d.world_size)
    return d


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
