"""Run one crawl in a child process (to be killed with SIGKILL by the crash tests).

Usage: python -m crawler_support.crawl_child DATA_DIR START_URL
"""

from __future__ import annotations

import sys
from pathlib import Path

from crawler.run import crawl
from crawler_support.settings import crawl_settings


def main() -> None:
    data_dir, url = Path(sys.argv[1]), sys.argv[2]
    settings = crawl_settings(data_dir.parent).replace(data_dir=data_dir)
    summary = crawl(settings, url=url, region="福建省/福州市/平潭县")
    print(summary.describe(), flush=True)


if __name__ == "__main__":
    main()
