"""Finding, unpacking and tuning KataGo; what :mod:`vw_envs.go.katago` runs.

KataGo comes from the ``katrain`` wheel (``pip install --no-deps katrain==1.20.0``): an OpenCL build of
KataGo v1.18.1 packed as an AppImage, and a 10.5M-parameter network. On a CPU-only machine it needs
Debian's ``ocl-icd-libopencl1`` and ``pocl-opencl-icd``. What this module does about that, once:

- finds the binary and the network inside the installed package (``$VW_KATAGO`` / ``$VW_KATAGO_MODEL``
  override them, e.g. with your own build);
- unpacks the AppImage (FUSE is usually absent) into ``~/.cache/videoworld-gym/katago``
  (``$VW_KATAGO_CACHE``);
- writes the OpenCL tuning file for the current device ahead of time, because KataGo's own auto-tune
  takes 5-9 minutes on a CPU and then crashed here (heap corruption in the ``transformerRMSNorm``
  stage).
"""

from __future__ import annotations

import ctypes.util
import glob
import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vw_envs.errors import EngineNotFoundError

INSTALL_HINT = "pip install --no-deps katrain==1.20.0"
OPENCL_HINT = "sudo apt-get install ocl-icd-libopencl1 pocl-opencl-icd"

# Best values found by KataGo's auto-tuner on this kind of machine before it crashed; UNTUNED=1 keeps
# KataGo's defaults for the rest. Written before the first start, so the auto-tune never runs.
TUNING_TEMPLATE = """VERSION=13
#canUseFP16Storage
0
#canUseFP16Compute
0
#canUseFP16TensorCores
0
#canUseFP16TensorCoresFor1x1
0
#shouldUseFP16Storage
0
#shouldUseFP16Compute
0
#shouldUseFP16TensorCores
0
#shouldUseFP16TensorCoresFor1x1
0
#xGemmDirect
WGD=32 MDIMCD=8 NDIMCD=8 MDIMAD=8 NDIMBD=8 KWID=2 VWMD=2 VWND=4 PADA=1 PADB=1
#xGemm
MWG=8 NWG=8 KWG=8 MDIMC=1 NDIMC=1 MDIMA=1 NDIMB=1 KWI=1 VWM=1 VWN=1 STRM=0 STRN=0 SA=0 SB=0
#xGemm16
UNTUNED=1
#hGemmWmma
UNTUNED=1
#hGemmWmmaNCHW
UNTUNED=1
#conv3x3
transLocalSize0=1 transLocalSize1=32 untransLocalSize0=2 untransLocalSize1=2 untransLocalSize2=1
#conv5x5
UNTUNED=1
#gPool
XYSTRIDE=16 CHANNELSTRIDE=2 BATCHSTRIDE=1
#transformer
ATTN_BLOCK_Q=128 ATTN_BLOCK_KV=64 Q_PER_THREAD=4 USE_TILED_ATTN=1
#transformerRMSNorm
WG_C_SIZE=32 WG_XY_SIZE=1 C_PER_THREAD=2
#pointWise
UNTUNED=1
#addChannelBiasesNCHW
UNTUNED=1
#spatialRMSNorm
UNTUNED=1
"""
# The part of the tuning file name that depends on the shipped network (b10c384h6nbttflrs).
_MODEL_TUNE_SUFFIX = "c384_m192_h32_mv15"

@dataclass(frozen=True)
class KataGoInstall:
    """Where KataGo's pieces are once unpacked.

    Attributes:
        binary: the executable to run (inside the unpacked AppImage, or your own build).
        lib_dir: the AppImage's bundled libraries (``LD_LIBRARY_PATH``), or None.
        model: the network file.
        home: KataGo's ``homeDataDir`` (it looks for ``opencltuning/`` there) and where configs go.
    """

    binary: str
    lib_dir: str | None
    model: str
    home: str


def _katrain_dir() -> Path | None:
    # find_spec does not run katrain's __init__ (a GUI package); only its location matters.
    try:
        spec = importlib.util.find_spec("katrain")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def katago_source() -> str | None:
    """The KataGo binary as shipped: ``$VW_KATAGO``, else katrain's ``KataGo/katago`` (None if absent)."""
    if os.environ.get("VW_KATAGO"):
        return os.environ["VW_KATAGO"]
    pkg = _katrain_dir()
    return str(pkg / "KataGo" / "katago") if pkg is not None else None


def katago_model() -> str | None:
    """The network: ``$VW_KATAGO_MODEL``, else the one katrain ships (None if absent)."""
    if os.environ.get("VW_KATAGO_MODEL"):
        return os.environ["VW_KATAGO_MODEL"]
    pkg = _katrain_dir()
    if pkg is None:
        return None
    found = sorted(glob.glob(str(pkg / "models" / "*.bin.gz")))
    return found[0] if found else None


def cache_dir() -> Path:
    """``$VW_KATAGO_CACHE``, else ``$XDG_CACHE_HOME/videoworld-gym/katago`` (``~/.cache`` by default)."""
    if os.environ.get("VW_KATAGO_CACHE"):
        return Path(os.environ["VW_KATAGO_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "videoworld-gym" / "katago"


def _opencl_problem() -> str | None:
    if ctypes.util.find_library("OpenCL") is None and not glob.glob("/usr/lib/*/libOpenCL.so*"):
        return f"the OpenCL loader (libOpenCL) is missing; install it with: {OPENCL_HINT}"
    if os.path.isdir("/etc/OpenCL/vendors") and not glob.glob("/etc/OpenCL/vendors/*.icd"):
        return f"no OpenCL device driver (ICD) is installed; install one with: {OPENCL_HINT}"
    if not os.path.isdir("/etc/OpenCL/vendors") and not os.environ.get("OCL_ICD_VENDORS"):
        return f"no OpenCL device driver (ICD) is installed; install one with: {OPENCL_HINT}"
    return None


def check_installed() -> str | None:
    """None if KataGo can run here, else a one-line reason naming what to install. Cheap: starts nothing."""
    src = katago_source()
    if src is None:
        return f"KataGo not found (the katrain package is not installed); install it with: {INSTALL_HINT}"
    if not os.path.exists(src):
        return f"KataGo not found at {src}; install it with: {INSTALL_HINT}"
    model = katago_model()
    if model is None or not os.path.exists(model):
        return f"KataGo network not found at {model}; install it with: {INSTALL_HINT}"
    return _opencl_problem()


def _is_appimage(path: str) -> bool:
    # AppImage type 2 files carry the magic bytes "AI\x02" at offset 8 of an ELF header.
    with open(path, "rb") as f:
        head = f.read(11)
    return head[8:11] == b"AI\x02"


def _sanitize_device(name: str) -> str:
    # KataGo names tuning files after the device with every non-alphanumeric character removed.
    return re.sub(r"[^A-Za-z0-9]", "", name)


def opencl_devices() -> list[str]:
    """Device names as ``clinfo -l`` lists them (empty if clinfo is not installed)."""
    exe = shutil.which("clinfo")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, "-l"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [m.group(1).strip() for m in re.finditer(r"Device #\d+:\s*(.+)", out)]


def tuning_path(home: str | os.PathLike, device: str, board_size: int) -> Path:
    """Where KataGo looks for the tuning file of ``device`` with an NxN buffer."""
    return (Path(home) / "opencltuning" /
            f"tune13_gpu{_sanitize_device(device)}_x{board_size}_y{board_size}_{_MODEL_TUNE_SUFFIX}.txt")


def write_tuning(path: str | os.PathLike) -> None:
    """Write the tuning template at ``path`` (atomically; an existing file is kept)."""
    path = Path(path)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tune")
    with os.fdopen(fd, "w") as f:
        f.write(TUNING_TEMPLATE)
    os.replace(tmp, path)


def ensure_installed(board_size: int = 19) -> KataGoInstall:
    """Find KataGo, unpack it once, and write tuning files; return where everything is.

    Safe to call from several processes at once: unpacking goes to a private temporary folder that is
    renamed into place, and a loser of the race keeps the winner's copy.

    Raises:
        EngineNotFoundError: KataGo, its network or OpenCL is missing (the message says what to install).
    """
    problem = check_installed()
    if problem is not None:
        raise EngineNotFoundError(problem)
    src, model = katago_source(), katago_model()
    assert src is not None and model is not None
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    binary, lib_dir = src, None
    if _is_appimage(src):
        st = os.stat(src)
        target = root / f"appimage-{st.st_size}-{int(st.st_mtime)}"
        if not (target / "usr" / "bin" / "katago").exists():
            tmp = Path(tempfile.mkdtemp(dir=root, prefix=".extract-"))
            try:
                subprocess.run([src, "--appimage-extract"], cwd=tmp, capture_output=True, timeout=300,
                               check=True)
                try:
                    os.rename(tmp / "squashfs-root", target)
                except OSError:
                    if not (target / "usr" / "bin" / "katago").exists():
                        raise
            except (OSError, subprocess.SubprocessError) as e:
                raise EngineNotFoundError(f"cannot unpack the KataGo AppImage {src} into {root}: {e}") from None
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        binary, lib_dir = str(target / "usr" / "bin" / "katago"), str(target / "usr" / "lib")
    home = root / "home"
    for device in opencl_devices():
        for n in {board_size, 19}:
            write_tuning(tuning_path(home, device, n))
    return KataGoInstall(binary=binary, lib_dir=lib_dir, model=model, home=str(home))
