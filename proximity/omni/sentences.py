"""The human sentence of each step, in the request's language (English or Italian)."""

from __future__ import annotations

from proximity.omni.llm_grammar import OUT_OF_SCOPE
from proximity.omni.plan import REFUSED, ArgValue, Language

_TEMPLATES: dict[str, dict[Language, str]] = {
    "apps.deploy": {
        "en": "Install {catalog_id}{as_name}{where}{sizes}",
        "it": "Installa {catalog_id}{as_name}{where}{sizes}",
    },
    "apps.list": {"en": "List the apps{filters}", "it": "Elenca le app{filters}"},
    "apps.start": {"en": "Start {name}", "it": "Avvia {name}"},
    "apps.stop": {"en": "Stop {name}", "it": "Ferma {name}"},
    "apps.restart": {"en": "Restart {name}", "it": "Riavvia {name}"},
    "apps.delete": {
        "en": "Delete {name}{purge}",
        "it": "Elimina {name}{purge}",
    },
    "apps.clone": {"en": "Clone {name} as {new_name}", "it": "Clona {name} come {new_name}"},
    "apps.update": {
        "en": "Update {name} (snapshot first, rolled back if it fails)",
        "it": "Aggiorna {name} (prima uno snapshot, ripristinato se fallisce)",
    },
    "apps.logs": {
        "en": "Show the last {lines} log lines of {name}",
        "it": "Mostra le ultime {lines} righe di log di {name}",
    },
    "apps.migrate": {"en": "Move {name} to node {node}", "it": "Sposta {name} sul nodo {node}"},
    "apps.resize": {"en": "Resize {name}{sizes}", "it": "Ridimensiona {name}{sizes}"},
    "backups.create": {"en": "Back up {app}", "it": "Fai un backup di {app}"},
    "backups.list": {"en": "List the backups{of_app}", "it": "Elenca i backup{of_app}"},
    "backups.restore": {
        "en": "Restore {source}{restore_target}",
        "it": "Ripristina {source}{restore_target}",
    },
    "catalog.search": {"en": "Search the catalog for {query}", "it": "Cerca nel catalogo: {query}"},
    "hosts.list": {"en": "List the hosts", "it": "Elenca gli host"},
    "hosts.status": {"en": "Show the status of {host}", "it": "Mostra lo stato di {host}"},
    "help": {"en": "Explain what I can do", "it": "Spiega cosa so fare"},
    OUT_OF_SCOPE: {
        "en": "Sorry, that is outside what Proximity does (apps, backups and hosts on Proxmox).",
        "it": "Mi dispiace, questo esula da ciò che fa Proximity (app, backup e host su Proxmox).",
    },
    REFUSED: {"en": "Refused: {reason}", "it": "Rifiutato: {reason}"},
}


def _sizes(args: dict[str, ArgValue], language: Language) -> str:
    parts = []
    if "cores" in args:
        parts.append(f"{args['cores']} core")
    if "memory_mb" in args:
        parts.append(f"{args['memory_mb']} MiB RAM")
    if "disk_gb" in args:
        parts.append(f"{args['disk_gb']} GiB disk" if language == "en" else f"{args['disk_gb']} GiB di disco")
    if not parts:
        return ""
    return " " + ", ".join(parts)


def sentence(action: str, args: dict[str, ArgValue], language: Language) -> str:
    """A short sentence saying what the step does, in ``language``."""
    it = language == "it"
    values: dict[str, object] = {key: value for key, value in args.items()}
    values.setdefault("lines", 100)
    values.setdefault("reason", "")
    sizes = _sizes(args, language)
    if sizes and action == "apps.deploy":
        sizes = (" con" if it else " with") + sizes
    elif sizes:
        sizes = ":" + sizes
    values["sizes"] = sizes
    values["as_name"] = (f" come {args['name']}" if it else f" as {args['name']}") if "name" in args else ""
    where = args.get("node") or args.get("host")
    values["where"] = (f" su {where}" if it else f" on {where}") if where else ""
    if args.get("purge"):
        values["purge"] = " e tutti i suoi dati e backup" if it else " and all its data and backups"
    else:
        values["purge"] = " (tenendo un backup finale)" if it else " (a final backup is kept)"
    filters = []
    if "status" in args:
        filters.append(str(args["status"]))
    if "host" in args:
        filters.append(f"su {args['host']}" if it else f"on {args['host']}")
    if "name" in args:
        filters.append(str(args["name"]))
    values["filters"] = (": " + ", ".join(filters)) if filters else ""
    values["of_app"] = (f" di {args['app']}" if it else f" of {args['app']}") if "app" in args else ""
    if "backup_id" in args:
        values["source"] = f"backup {args['backup_id']}"
    else:
        values["source"] = (
            f"l'ultimo backup di {args.get('app')}" if it else f"the latest backup of {args.get('app')}"
        )
    if args.get("as_name"):
        values["restore_target"] = (
            f" come nuova app {args['as_name']}" if it else f" as a new app {args['as_name']}"
        )
    else:
        values["restore_target"] = " sopra l'app attuale" if it else " over the current app"
    query = " ".join(str(args[key]) for key in ("query", "category") if key in args)
    values["query"] = query or ("tutto" if it else "everything")
    return _TEMPLATES[action][language].format(**values)
