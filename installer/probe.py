"""Facts about the app's environment, printed as one line of JSON for the bootstrap to read.

Runs under the environment's own Python, where torch may not be installed yet, so it imports
nothing of ours:

    probe.py torch-version   ->  "2.9.1+cu128", or null when torch is not installed
    probe.py verify DIST     ->  the torch build, what CUDA devices it sees, DIST's version

`verify` imports torch for real: a missing system DLL or an unusable driver shows up here, at
install time, with the traceback in install.log, instead of at the app's first start.
"""
import importlib.metadata
import json
import sys


def torch_version():
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def verify(dist):
    import torch

    cuda = torch.cuda.is_available()
    count = torch.cuda.device_count() if cuda else 0
    return {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cuda_available": cuda,
        "devices": [{"name": torch.cuda.get_device_name(i),
                     "capability": list(torch.cuda.get_device_capability(i))} for i in range(count)],
        "arch_list": torch.cuda.get_arch_list() if cuda else [],
        "app": importlib.metadata.version(dist),
    }


def main(argv):
    if argv[:1] == ["torch-version"]:
        print(json.dumps(torch_version()))
    elif len(argv) == 2 and argv[0] == "verify":
        print(json.dumps(verify(argv[1])))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
