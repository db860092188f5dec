"""Write ``proximity/sim/data/oci-images.json``: facts about the OCI images the simulator can pull.

Run it again whenever ``catalog/apps/*.json`` changes (it is idempotent):

    .venv/bin/python tools/gen_sim_oci_images.py

Where the facts come from:
- ``KNOWN_IMAGES`` below: exposed ports, default environment and entrypoint as each image's own build file
  (Dockerfile) declares them, i.e. what ``docker image inspect`` shows and the registry serves in the image
  configuration. ``size_bytes`` is the approximate compressed linux/amd64 size of a recent tag as the
  registry lists it, rounded; it only scales simulated pull durations and disk use.
- An image that a catalog entry uses but ``KNOWN_IMAGES`` lacks is recorded from the catalog entry itself
  (the container ports its compose service publishes, or the entry's ports for an OCI install), with
  ``"source": "catalog"`` so nobody mistakes it for registry data. The script names those images, so the
  table can be completed.
Every tag the catalog pins is added to the repository's tag list.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from proximity.sim.registry import InvalidReference, parse_reference

OUTPUT = ROOT / "proximity" / "sim" / "data" / "oci-images.json"
CATALOG = ROOT / "catalog" / "apps"
MB = 1_000_000

LSIO_ENV = {
    "HOME": "/root",
    "LANGUAGE": "en_US.UTF-8",
    "LANG": "en_US.UTF-8",
    "TERM": "xterm",
    "S6_CMD_WAIT_FOR_SERVICES_MAXTIME": "0",
    "S6_VERBOSITY": "1",
    "S6_STAGE2_HOOK": "/docker-mods",
    "VIRTUAL_ENV": "/lsiopy",
}


def _lsio(app: str, ports: list[str], size_mb: int, tags: list[str]) -> tuple[str, dict[str, Any]]:
    return f"lscr.io/linuxserver/{app}", {
        "exposed_ports": ports,
        "env": LSIO_ENV,
        "entrypoint": ["/init"],
        "size_bytes": size_mb * MB,
        "tags": ["latest", *tags],
        "aliases": [f"ghcr.io/linuxserver/{app}", f"docker.io/linuxserver/{app}"],
        "source": f"https://github.com/linuxserver/docker-{app}/blob/master/Dockerfile",
    }


KNOWN_IMAGES: dict[str, dict[str, Any]] = {
    "docker.io/jellyfin/jellyfin": {
        "exposed_ports": ["8096/tcp"],
        "env": {
            "HEALTHCHECK_URL": "http://localhost:8096/health",
            "DEBIAN_FRONTEND": "noninteractive",
            "LC_ALL": "en_US.UTF-8",
            "LANG": "en_US.UTF-8",
            "LANGUAGE": "en_US:en",
            "JELLYFIN_DATA_DIR": "/config",
            "JELLYFIN_CACHE_DIR": "/cache",
            "JELLYFIN_CONFIG_DIR": "/config/config",
            "JELLYFIN_LOG_DIR": "/config/log",
            "JELLYFIN_WEB_DIR": "/jellyfin/jellyfin-web",
            "JELLYFIN_FFMPEG": "/usr/lib/jellyfin-ffmpeg/ffmpeg",
            "NVIDIA_VISIBLE_DEVICES": "all",
            "NVIDIA_DRIVER_CAPABILITIES": "compute,video,utility",
        },
        "entrypoint": ["/jellyfin/jellyfin"],
        "size_bytes": 470 * MB,
        "tags": ["latest", "10", "10.10.7", "10.11.0", "10.11.3", "unstable"],
        "source": "https://github.com/jellyfin/jellyfin-packaging/blob/master/docker/Dockerfile",
    },
    "docker.io/vaultwarden/server": {
        "exposed_ports": ["80/tcp"],
        "env": {
            "ROCKET_PROFILE": "release",
            "ROCKET_ADDRESS": "0.0.0.0",
            "ROCKET_PORT": "80",
            "SSL_CERT_DIR": "/etc/ssl/certs",
        },
        "entrypoint": ["/start.sh"],
        "size_bytes": 95 * MB,
        "tags": ["latest", "latest-alpine", "1.34.3", "1.34.3-alpine"],
        "source": "https://github.com/dani-garcia/vaultwarden/blob/main/docker/Dockerfile.debian",
    },
    "docker.io/louislam/uptime-kuma": {
        "exposed_ports": ["3001/tcp"],
        "env": {"UPTIME_KUMA_IS_CONTAINER": "1"},
        "entrypoint": ["/usr/bin/dumb-init", "--"],
        "cmd": ["node", "server/server.js"],
        "size_bytes": 160 * MB,
        "tags": ["latest", "1", "1.23.16", "2", "2.0.2"],
        "source": "https://github.com/louislam/uptime-kuma/blob/master/docker/dockerfile",
    },
    "docker.io/pihole/pihole": {
        "exposed_ports": ["53/tcp", "53/udp", "67/udp", "80/tcp", "443/tcp"],
        "env": {"FTL_CMD": "no-daemon", "DNSMASQ_USER": "pihole"},
        "entrypoint": ["start.sh"],
        "size_bytes": 40 * MB,
        "tags": ["latest", "2025.08.0", "2025.10.0"],
        "source": "https://github.com/pi-hole/docker-pi-hole/blob/master/src/Dockerfile",
    },
    "docker.io/adguard/adguardhome": {
        "exposed_ports": [
            "53/tcp",
            "53/udp",
            "67/udp",
            "68/udp",
            "80/tcp",
            "443/tcp",
            "443/udp",
            "853/tcp",
            "853/udp",
            "3000/tcp",
            "3000/udp",
            "5443/tcp",
            "5443/udp",
            "6060/tcp",
        ],
        "env": {},
        "entrypoint": ["/opt/adguardhome/AdGuardHome"],
        "cmd": [
            "--no-check-update",
            "-c",
            "/opt/adguardhome/conf/AdGuardHome.yaml",
            "-w",
            "/opt/adguardhome/work",
        ],
        "size_bytes": 22 * MB,
        "tags": ["latest", "v0.107.65", "v0.107.69"],
        "source": "https://github.com/AdguardTeam/AdGuardHome/blob/master/docker/Dockerfile",
    },
    "ghcr.io/home-assistant/home-assistant": {
        "exposed_ports": [],
        "listens": [8123],
        "env": {
            "S6_SERVICES_READYTIME": "50",
            "S6_SERVICES_GRACETIME": "240000",
            "UV_SYSTEM_PYTHON": "true",
            "UV_NO_CACHE": "true",
        },
        "entrypoint": ["/init"],
        "size_bytes": 720 * MB,
        "tags": ["latest", "stable", "2025.10", "2025.11.3"],
        "aliases": ["docker.io/homeassistant/home-assistant"],
        "source": "https://github.com/home-assistant/core/blob/dev/Dockerfile (no EXPOSE; serves 8123)",
    },
    "docker.io/grafana/grafana": {
        "exposed_ports": ["3000/tcp"],
        "env": {
            "GF_PATHS_CONFIG": "/etc/grafana/grafana.ini",
            "GF_PATHS_DATA": "/var/lib/grafana",
            "GF_PATHS_HOME": "/usr/share/grafana",
            "GF_PATHS_LOGS": "/var/log/grafana",
            "GF_PATHS_PLUGINS": "/var/lib/grafana/plugins",
            "GF_PATHS_PROVISIONING": "/etc/grafana/provisioning",
        },
        "entrypoint": ["/run.sh"],
        "size_bytes": 190 * MB,
        "tags": ["latest", "12.2.1", "12.3.0"],
        "aliases": ["docker.io/grafana/grafana-oss"],
        "source": "https://github.com/grafana/grafana/blob/main/Dockerfile",
    },
    "docker.io/prom/prometheus": {
        "exposed_ports": ["9090/tcp"],
        "env": {},
        "entrypoint": ["/bin/prometheus"],
        "cmd": ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"],
        "size_bytes": 120 * MB,
        "tags": ["latest", "v3.7.3"],
        "source": "https://github.com/prometheus/prometheus/blob/main/Dockerfile",
    },
    "docker.io/gitea/gitea": {
        "exposed_ports": ["22/tcp", "3000/tcp"],
        "env": {"USER": "git", "GITEA_CUSTOM": "/data/gitea"},
        "entrypoint": ["/usr/bin/entrypoint"],
        "cmd": ["/usr/bin/s6-svscan", "/etc/s6"],
        "size_bytes": 75 * MB,
        "tags": ["latest", "1", "1.24", "1.24.7", "1.25.1"],
        "source": "https://github.com/go-gitea/gitea/blob/main/Dockerfile",
    },
    "ghcr.io/paperless-ngx/paperless-ngx": {
        "exposed_ports": ["8000/tcp"],
        "env": {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "PNGX_CONTAINERIZED": "1"},
        "entrypoint": ["/init"],
        "size_bytes": 560 * MB,
        "tags": ["latest", "2.19", "2.19.5"],
        "source": "https://github.com/paperless-ngx/paperless-ngx/blob/dev/Dockerfile",
    },
    "docker.io/library/nextcloud": {
        "exposed_ports": ["80/tcp"],
        "env": {
            "PHP_MEMORY_LIMIT": "512M",
            "PHP_UPLOAD_LIMIT": "512M",
            "APACHE_DOCUMENT_ROOT": "/var/www/html",
        },
        "entrypoint": ["/entrypoint.sh"],
        "cmd": ["apache2-foreground"],
        "size_bytes": 470 * MB,
        "tags": ["latest", "stable", "31", "32", "32-apache", "32.0.1"],
        "source": "https://github.com/nextcloud/docker/blob/master/32/apache/Dockerfile",
    },
    "docker.io/library/postgres": {
        "exposed_ports": ["5432/tcp"],
        "env": {"LANG": "en_US.utf8", "PGDATA": "/var/lib/postgresql/data"},
        "entrypoint": ["docker-entrypoint.sh"],
        "cmd": ["postgres"],
        "size_bytes": 155 * MB,
        "tags": ["latest", "16", "16-alpine", "17", "17-alpine", "17.6"],
        "source": "https://github.com/docker-library/postgres/blob/master/17/bookworm/Dockerfile",
    },
    "docker.io/library/redis": {
        "exposed_ports": ["6379/tcp"],
        "env": {},
        "entrypoint": ["docker-entrypoint.sh"],
        "cmd": ["redis-server"],
        "size_bytes": 48 * MB,
        "tags": ["latest", "7", "7-alpine", "8", "8-alpine"],
        "source": "https://github.com/docker-library/redis/blob/master/8.2/debian/Dockerfile",
    },
    "docker.io/valkey/valkey": {
        "exposed_ports": ["6379/tcp"],
        "env": {},
        "entrypoint": ["docker-entrypoint.sh"],
        "cmd": ["valkey-server"],
        "size_bytes": 45 * MB,
        "tags": ["latest", "8", "8-bookworm", "8-alpine"],
        "source": "https://github.com/valkey-io/valkey-container/blob/mainline/8.1/debian/Dockerfile",
    },
    "docker.io/library/mariadb": {
        "exposed_ports": ["3306/tcp"],
        "env": {"LANG": "C.UTF-8"},
        "entrypoint": ["docker-entrypoint.sh"],
        "cmd": ["mariadbd"],
        "size_bytes": 125 * MB,
        "tags": ["latest", "11", "11.4", "lts"],
        "source": "https://github.com/MariaDB/mariadb-docker/blob/master/11.4/Dockerfile",
    },
    "docker.io/library/nginx": {
        "exposed_ports": ["80/tcp"],
        "env": {"NGINX_VERSION": "1.29.3", "NJS_VERSION": "0.9.4", "PKG_RELEASE": "1~trixie"},
        "entrypoint": ["/docker-entrypoint.sh"],
        "cmd": ["nginx", "-g", "daemon off;"],
        "size_bytes": 72 * MB,
        "tags": ["latest", "1.29", "1.29.3", "alpine", "stable"],
        "source": "https://github.com/nginx/docker-nginx/blob/master/mainline/debian/Dockerfile",
    },
    "docker.io/library/traefik": {
        "exposed_ports": ["80/tcp"],
        "env": {},
        "entrypoint": ["/entrypoint.sh"],
        "cmd": ["traefik"],
        "size_bytes": 55 * MB,
        "tags": ["latest", "v3", "v3.5"],
        "source": "https://github.com/traefik/traefik-library-image/blob/master/v3.5/alpine/Dockerfile",
    },
    "docker.io/portainer/portainer-ce": {
        "exposed_ports": ["8000/tcp", "9000/tcp", "9443/tcp"],
        "env": {},
        "entrypoint": ["/portainer"],
        "size_bytes": 70 * MB,
        "tags": ["latest", "lts", "2.33.3"],
        "source": "https://github.com/portainer/portainer/blob/develop/build/linux/Dockerfile",
    },
    "docker.io/syncthing/syncthing": {
        "exposed_ports": ["8384/tcp", "22000/tcp", "22000/udp", "21027/udp"],
        "env": {"STGUIADDRESS": "0.0.0.0:8384", "STHOMEDIR": "/var/syncthing/config"},
        "entrypoint": ["/bin/entrypoint.sh", "/bin/syncthing"],
        "size_bytes": 32 * MB,
        "tags": ["latest", "2", "2.0.10"],
        "source": "https://github.com/syncthing/syncthing/blob/main/Dockerfile",
    },
    "docker.io/n8nio/n8n": {
        "exposed_ports": ["5678/tcp"],
        "env": {"NODE_ENV": "production", "N8N_RELEASE_TYPE": "stable", "SHELL": "/bin/sh"},
        "entrypoint": ["tini", "--", "/docker-entrypoint.sh"],
        "size_bytes": 310 * MB,
        "tags": ["latest", "stable", "1.118.2"],
        "source": "https://github.com/n8n-io/n8n/blob/master/docker/images/n8n/Dockerfile",
    },
    "docker.io/ollama/ollama": {
        "exposed_ports": ["11434/tcp"],
        "env": {
            "OLLAMA_HOST": "0.0.0.0:11434",
            "NVIDIA_DRIVER_CAPABILITIES": "compute,utility",
            "NVIDIA_VISIBLE_DEVICES": "all",
        },
        "entrypoint": ["/bin/ollama"],
        "cmd": ["serve"],
        "size_bytes": 1_900 * MB,
        "tags": ["latest", "0.12.10", "rocm"],
        "source": "https://github.com/ollama/ollama/blob/main/Dockerfile",
    },
    "ghcr.io/open-webui/open-webui": {
        "exposed_ports": ["8080/tcp"],
        "env": {"PORT": "8080", "ENV": "prod", "OLLAMA_BASE_URL": "/ollama", "WEBUI_SECRET_KEY": ""},
        "entrypoint": [],
        "cmd": ["bash", "start.sh"],
        "size_bytes": 1_800 * MB,
        "tags": ["latest", "main", "v0.6.36", "ollama", "cuda"],
        "source": "https://github.com/open-webui/open-webui/blob/main/Dockerfile",
    },
    "docker.io/actualbudget/actual-server": {
        "exposed_ports": ["5006/tcp"],
        "env": {"ACTUAL_DATA_DIR": "/data"},
        "entrypoint": ["/usr/bin/tini", "-g", "--"],
        "cmd": ["node", "app.js"],
        "size_bytes": 85 * MB,
        "tags": ["latest", "latest-alpine", "25.11.0"],
        "source": "https://github.com/actualbudget/actual/blob/master/sync-server.Dockerfile",
    },
    "docker.io/filebrowser/filebrowser": {
        "exposed_ports": ["80/tcp"],
        "env": {},
        "entrypoint": ["tini", "--", "/init.sh"],
        "size_bytes": 16 * MB,
        "tags": ["latest", "v2", "v2.45.0"],
        "source": "https://github.com/filebrowser/filebrowser/blob/master/Dockerfile",
    },
    "docker.io/jc21/nginx-proxy-manager": {
        "exposed_ports": ["80/tcp", "81/tcp", "443/tcp"],
        "env": {
            "SUPPRESS_NO_CONFIG_WARNING": "1",
            "S6_FIX_ATTRS_HIDDEN": "1",
            "S6_KILL_FINISH_MAXTIME": "10000",
            "S6_VERBOSITY": "1",
        },
        "entrypoint": ["/init"],
        "size_bytes": 330 * MB,
        "tags": ["latest", "2", "2.13.3"],
        "source": "https://github.com/NginxProxyManager/nginx-proxy-manager/blob/develop/docker/Dockerfile",
    },
    "docker.io/library/eclipse-mosquitto": {
        "exposed_ports": ["1883/tcp"],
        "env": {"VERSION": "2.0.22"},
        "entrypoint": ["/docker-entrypoint.sh"],
        "cmd": ["/usr/sbin/mosquitto", "-c", "/mosquitto/config/mosquitto.conf"],
        "size_bytes": 10 * MB,
        "tags": ["latest", "2", "2.0.22"],
        "source": "https://github.com/eclipse/mosquitto/blob/master/docker/2.0/Dockerfile",
    },
    "docker.io/koenkk/zigbee2mqtt": {
        "exposed_ports": [],
        "listens": [8080],
        "env": {"NODE_ENV": "production"},
        "entrypoint": ["docker-entrypoint.sh"],
        "cmd": ["/sbin/tini", "--", "node", "index.js"],
        "size_bytes": 80 * MB,
        "tags": ["latest", "2", "2.6.3"],
        "aliases": ["ghcr.io/koenkk/zigbee2mqtt"],
        "source": "https://github.com/Koenkk/zigbee2mqtt/blob/master/docker/Dockerfile (frontend on 8080)",
    },
    "docker.io/nodered/node-red": {
        "exposed_ports": ["1880/tcp"],
        "env": {
            "NODE_RED_VERSION": "v4.1.1",
            "NODE_PATH": "/usr/src/node-red/node_modules:/data/node_modules",
            "PATH": "/usr/src/node-red/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
            "/sbin:/bin",
            "FLOWS": "flows.json",
        },
        "entrypoint": ["./entrypoint.sh"],
        "size_bytes": 200 * MB,
        "tags": ["latest", "4.1.1", "latest-debian"],
        "source": "https://github.com/node-red/node-red-docker/blob/master/docker-custom/Dockerfile.custom",
    },
    "ghcr.io/immich-app/immich-server": {
        "exposed_ports": ["2283/tcp"],
        "env": {
            "NODE_ENV": "production",
            "IMMICH_ENV": "production",
            "IMMICH_SOURCE_REF": "",
            "NVIDIA_DRIVER_CAPABILITIES": "all",
            "NVIDIA_VISIBLE_DEVICES": "all",
        },
        "entrypoint": ["tini", "--", "/bin/bash", "-c"],
        "cmd": ["start.sh"],
        "size_bytes": 820 * MB,
        "tags": ["release", "v2", "v2.2.3"],
        "source": "https://github.com/immich-app/immich/blob/main/server/Dockerfile",
    },
    "ghcr.io/immich-app/immich-machine-learning": {
        "exposed_ports": ["3003/tcp"],
        "env": {
            "IMMICH_HOST": "[::]",
            "IMMICH_PORT": "3003",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
        },
        "entrypoint": ["tini", "--"],
        "cmd": ["python", "-m", "immich_ml"],
        "size_bytes": 1_100 * MB,
        "tags": ["release", "v2", "v2.2.3"],
        "source": "https://github.com/immich-app/immich/blob/main/machine-learning/Dockerfile",
    },
    "docker.io/freshrss/freshrss": {
        "exposed_ports": ["80/tcp"],
        "env": {},
        "entrypoint": ["./Docker/entrypoint.sh"],
        "size_bytes": 70 * MB,
        "tags": ["latest", "1", "1.27.1", "alpine"],
        "source": "https://github.com/FreshRSS/FreshRSS/blob/edge/Docker/Dockerfile",
    },
    "ghcr.io/mealie-recipes/mealie": {
        "exposed_ports": ["9000/tcp"],
        "env": {"PRODUCTION": "true"},
        "entrypoint": ["/app/run.sh"],
        "size_bytes": 260 * MB,
        "tags": ["latest", "v3", "v3.4.0"],
        "source": "https://github.com/mealie-recipes/mealie/blob/mealie-next/docker/Dockerfile",
    },
    "ghcr.io/gethomepage/homepage": {
        "exposed_ports": ["3000/tcp"],
        "env": {"NODE_ENV": "production", "HOSTNAME": "0.0.0.0", "PORT": "3000"},
        "entrypoint": ["docker-entrypoint.sh"],
        "cmd": ["node", "server.js"],
        "size_bytes": 90 * MB,
        "tags": ["latest", "v1", "v1.7.0"],
        "source": "https://github.com/gethomepage/homepage/blob/main/Dockerfile",
    },
    "docker.io/searxng/searxng": {
        "exposed_ports": ["8080/tcp"],
        "env": {"CONFIG_PATH": "/etc/searxng", "DATA_PATH": "/var/cache/searxng"},
        "entrypoint": ["/usr/local/searxng/entrypoint.sh"],
        "size_bytes": 65 * MB,
        "tags": ["latest"],
        "source": "https://github.com/searxng/searxng/blob/master/container/Dockerfile",
    },
    "docker.io/stirlingtools/stirling-pdf": {
        "exposed_ports": ["8080/tcp"],
        "env": {},
        "entrypoint": ["tini", "--", "/scripts/init-without-ocr.sh"],
        "size_bytes": 420 * MB,
        "tags": ["latest", "1.5.0"],
        "source": "https://github.com/Stirling-Tools/Stirling-PDF/blob/main/Dockerfile",
    },
    "ghcr.io/advplyr/audiobookshelf": {
        "exposed_ports": ["80/tcp"],
        "env": {
            "PORT": "80",
            "NODE_ENV": "production",
            "CONFIG_PATH": "/config",
            "METADATA_PATH": "/metadata",
        },
        "entrypoint": ["tini", "--"],
        "cmd": ["node", "index.js"],
        "size_bytes": 110 * MB,
        "tags": ["latest", "2.30.0"],
        "source": "https://github.com/advplyr/audiobookshelf/blob/master/Dockerfile",
    },
    "docker.io/deluan/navidrome": {
        "exposed_ports": ["4533/tcp"],
        "env": {
            "ND_MUSICFOLDER": "/music",
            "ND_DATAFOLDER": "/data",
            "ND_CONFIGFILE": "/data/navidrome.toml",
            "ND_PORT": "4533",
        },
        "entrypoint": ["/app/navidrome"],
        "size_bytes": 45 * MB,
        "tags": ["latest", "0.58.5"],
        "source": "https://github.com/navidrome/navidrome/blob/master/Dockerfile",
    },
    "docker.io/miniflux/miniflux": {
        "exposed_ports": ["8080/tcp"],
        "env": {"LISTEN_ADDR": "0.0.0.0:8080"},
        "entrypoint": ["/usr/bin/miniflux"],
        "size_bytes": 20 * MB,
        "tags": ["latest", "2.2.14"],
        "source": "https://github.com/miniflux/v2/blob/main/packaging/docker/distroless/Dockerfile",
    },
    "docker.io/library/wordpress": {
        "exposed_ports": ["80/tcp"],
        "env": {"PHP_INI_DIR": "/usr/local/etc/php", "APACHE_CONFDIR": "/etc/apache2"},
        "entrypoint": ["docker-entrypoint.sh"],
        "cmd": ["apache2-foreground"],
        "size_bytes": 250 * MB,
        "tags": ["latest", "6", "6.8", "6.8.3-apache"],
        "source": "https://github.com/docker-library/wordpress/blob/master/latest/php8.3/apache/Dockerfile",
    },
    "docker.io/library/ghost": {
        "exposed_ports": ["2368/tcp"],
        "env": {
            "NODE_ENV": "production",
            "GHOST_INSTALL": "/var/lib/ghost",
            "GHOST_CONTENT": "/var/lib/ghost/content",
        },
        "entrypoint": ["docker-entrypoint.sh"],
        "cmd": ["node", "current/index.js"],
        "size_bytes": 200 * MB,
        "tags": ["latest", "6", "6-alpine"],
        "source": "https://github.com/docker-library/ghost/blob/master/6/debian/Dockerfile",
    },
    "docker.io/minio/minio": {
        "exposed_ports": ["9000/tcp"],
        "env": {
            "MINIO_ACCESS_KEY_FILE": "access_key",
            "MINIO_SECRET_KEY_FILE": "secret_key",
            "MINIO_ROOT_USER_FILE": "access_key",
            "MINIO_ROOT_PASSWORD_FILE": "secret_key",
            "MINIO_CONFIG_ENV_FILE": "config.env",
        },
        "entrypoint": ["/usr/bin/docker-entrypoint.sh"],
        "cmd": ["minio"],
        "size_bytes": 60 * MB,
        "tags": ["latest"],
        "source": "https://github.com/minio/minio/blob/master/Dockerfile.release",
    },
    "docker.io/codercom/code-server": {
        "exposed_ports": ["8080/tcp"],
        "env": {"LANG": "en_US.UTF-8", "USER": "coder", "ENTRYPOINTD": "/home/coder/entrypoint.d"},
        "entrypoint": ["/usr/bin/entrypoint.sh", "--bind-addr", "0.0.0.0:8080", "."],
        "size_bytes": 300 * MB,
        "tags": ["latest", "4.105.1"],
        "source": "https://github.com/coder/code-server/blob/main/ci/release-image/Dockerfile",
    },
    "docker.io/vikunja/vikunja": {
        "exposed_ports": ["3456/tcp"],
        "env": {},
        "entrypoint": ["/app/vikunja/vikunja"],
        "size_bytes": 40 * MB,
        "tags": ["latest", "0.24.6", "1.0.0"],
        "source": "https://github.com/go-vikunja/vikunja/blob/main/Dockerfile",
    },
    "docker.io/binwiederhier/ntfy": {
        "exposed_ports": [],
        "listens": [80],
        "env": {},
        "entrypoint": ["ntfy"],
        "size_bytes": 20 * MB,
        "tags": ["latest", "v2.14.0"],
        "source": "https://github.com/binwiederhier/ntfy/blob/main/Dockerfile (no EXPOSE; serves :80)",
    },
    "docker.io/louislam/dockge": {
        "exposed_ports": ["5001/tcp"],
        "env": {},
        "entrypoint": ["/usr/bin/dumb-init", "--"],
        "cmd": ["tsx", "./backend/index.ts"],
        "size_bytes": 190 * MB,
        "tags": ["latest", "1"],
        "source": "https://github.com/louislam/dockge/blob/master/docker/Dockerfile",
    },
    "docker.io/qdrant/qdrant": {
        "exposed_ports": ["6333/tcp", "6334/tcp"],
        "env": {},
        "entrypoint": ["./entrypoint.sh"],
        "size_bytes": 65 * MB,
        "tags": ["latest", "v1.15.5"],
        "source": "https://github.com/qdrant/qdrant/blob/master/Dockerfile",
    },
}

for _name, _facts in (
    _lsio("radarr", ["7878/tcp"], 75, ["5.28.0"]),
    _lsio("sonarr", ["8989/tcp"], 95, ["4.0.16"]),
    _lsio("prowlarr", ["9696/tcp"], 70, ["2.1.5"]),
    _lsio("lidarr", ["8686/tcp"], 80, ["2.14.5"]),
    _lsio("bazarr", ["6767/tcp"], 140, ["1.5.3"]),
    _lsio("qbittorrent", ["8080/tcp", "6881/tcp", "6881/udp"], 60, ["5.1.2"]),
    _lsio("jellyfin", ["8096/tcp", "8920/tcp"], 320, ["10.11.3"]),
    _lsio("heimdall", ["80/tcp", "443/tcp"], 60, ["2.7.6"]),
    _lsio("bookstack", ["80/tcp", "443/tcp"], 90, ["25.07.3"]),
    _lsio("code-server", ["8443/tcp"], 230, ["4.105.1"]),
    _lsio("nextcloud", ["80/tcp", "443/tcp"], 220, ["32.0.1"]),
    _lsio("calibre-web", ["8083/tcp"], 330, []),
    _lsio("deluge", ["8112/tcp", "58846/tcp", "58946/tcp", "58946/udp"], 90, []),
    _lsio("jackett", ["9117/tcp"], 90, []),
    _lsio("sabnzbd", ["8080/tcp"], 80, []),
    _lsio("transmission", ["9091/tcp", "51413/tcp", "51413/udp"], 30, []),
    _lsio("grocy", ["80/tcp", "443/tcp"], 60, []),
    _lsio("piwigo", ["80/tcp", "443/tcp"], 70, []),
    _lsio("mylar3", ["8090/tcp"], 110, []),
    _lsio("lazylibrarian", ["5299/tcp"], 150, []),
    _lsio("airsonic-advanced", ["4040/tcp"], 190, []),
    _lsio("beets", ["8337/tcp"], 120, []),
):
    KNOWN_IMAGES[_name] = _facts


def _catalog_images() -> dict[str, dict[str, Any]]:
    """For each image the catalog uses: the tags it pins and the container ports the catalog names."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(CATALOG.glob("*.json")):
        entry = json.loads(path.read_text(encoding="utf-8"))
        entry_ports = [f"{p['port']}/{p.get('protocol', 'tcp')}" for p in entry.get("ports", [])]
        for method in entry.get("install", []):
            if method.get("type") == "oci":
                _note(found, method["image"], entry_ports, path.name)
            elif method.get("type") == "compose":
                for service in (method.get("compose", {}).get("services") or {}).values():
                    if isinstance(service, dict) and isinstance(service.get("image"), str):
                        _note(found, service["image"], _compose_container_ports(service), path.name)
    return found


def _compose_container_ports(service: dict[str, Any]) -> list[str]:
    ports = []
    for item in service.get("ports", []) or []:
        if isinstance(item, dict):
            ports.append(f"{item['target']}/{item.get('protocol', 'tcp')}")
            continue
        text, _, protocol = str(item).partition("/")
        container = text.rsplit(":", 1)[-1]
        if container.isdigit():
            ports.append(f"{container}/{protocol or 'tcp'}")
    for item in service.get("expose", []) or []:
        ports.append(str(item) if "/" in str(item) else f"{item}/tcp")
    return ports


def _note(found: dict[str, dict[str, Any]], image: str, ports: list[str], file_name: str) -> None:
    if "${" in image:
        return
    try:
        ref = parse_reference(image)
    except InvalidReference:
        print(f"warning: {file_name}: cannot parse image {image!r}", file=sys.stderr)
        return
    record = found.setdefault(ref.name, {"tags": set(), "ports": [], "files": set()})
    record["tags"].add(ref.tag)
    record["files"].add(file_name)
    for port in ports:
        if port not in record["ports"]:
            record["ports"].append(port)


def build() -> dict[str, Any]:
    images: dict[str, dict[str, Any]] = {name: dict(facts) for name, facts in KNOWN_IMAGES.items()}
    alias_of = {alias: name for name, facts in KNOWN_IMAGES.items() for alias in facts.get("aliases", [])}
    for name, used in sorted(_catalog_images().items()):
        target = images.get(alias_of.get(name, name))
        if target is None:
            print(
                f"no registry facts for {name} (used by {', '.join(sorted(used['files']))}); "
                f"recording the catalog's ports {used['ports']}",
                file=sys.stderr,
            )
            target = images[name] = {
                "exposed_ports": used["ports"],
                "env": {},
                "entrypoint": [],
                "size_bytes": 150 * MB,
                "tags": ["latest"],
                "source": "catalog",
            }
        target["tags"] = sorted(set(target["tags"]) | used["tags"])
    return {
        "about": "Facts about OCI images for the Proximity simulator; generated by "
        "tools/gen_sim_oci_images.py. "
        "Ports/env/entrypoint as the images' build files declare them; size_bytes is approximate "
        "(compressed, linux/amd64); entries with source 'catalog' come from the catalog, not a registry.",
        "images": dict(sorted(images.items())),
    }


def main() -> None:
    document = build()
    OUTPUT.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {len(document['images'])} images")


if __name__ == "__main__":
    main()
