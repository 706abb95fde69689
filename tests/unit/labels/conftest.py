import sys
from pathlib import Path

# the helpers module sits beside the tests (no __init__.py here: `labels` would shadow the package)
sys.path.insert(0, str(Path(__file__).parent))
