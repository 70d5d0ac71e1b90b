from __future__ import annotations

from mlgitops.cli import main

raise SystemExit(main())
