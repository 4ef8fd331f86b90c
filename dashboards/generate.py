#!/usr/bin/env python3
"""Writes the Grafana dashboards (vroegsignalering.json, pijplijn.json).

The dashboards are generated so that the regional overview and the
municipality variable follow the configuration: the region's municipalities
come from config/onrust.toml ([region] municipalities) and their names from
the gazetteer. Run it after changing either, and commit the output:

    python3 dashboards/generate.py

Queries may use only metrics declared in the code (docs/metrics.md) and the
recording rules in docker/prometheus/rules.yml; tests/e2e/metrics.rs and a
unit test in crates/onrust check that, and evaluate every query against a
live onrust through a real Prometheus.
"""

import csv
import json
import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATASOURCE = {"type": "prometheus", "uid": "onrust-prometheus"}


def region():
    config = tomllib.loads((ROOT / "config/onrust.toml").read_text())
    codes = config.get("region", {}).get("municipalities", [])
    gazetteer = config["classify"]["gazetteer"]
    names = {}
    with open(ROOT / "config" / gazetteer, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            names.setdefault("GM" + row["Gemeentecode"].strip(), row["Gemeente"].strip())
    return sorted(((names.get(c, c), c) for c in codes), key=lambda p: p[0].lower())


def target(expr, legend="", ref="A", instant=False):
    t = {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": ref}
    if instant:
        t["instant"] = True
        t["range"] = False
    return t


def panel(pid, kind, title, description, grid, targets, **extra):
    p = {
        "id": pid,
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": dict(zip("xywh", grid)),
        "targets": [target(*t) if isinstance(t, tuple) else t for t in targets],
        "fieldConfig": {"defaults": {}, "overrides": []},
        "options": {},
    }
    for k, v in extra.items():
        if k == "defaults":
            p["fieldConfig"]["defaults"].update(v)
        elif k == "overrides":
            p["fieldConfig"]["overrides"] = v
        else:
            p[k] = v
    return p


def thresholds(*steps):
    out = [{"color": steps[0], "value": None}]
    for i in range(1, len(steps), 2):
        out.append({"color": steps[i + 1], "value": steps[i]})
    return {"mode": "absolute", "steps": out}


def stat_options(orientation="auto"):
    return {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "orientation": orientation,
        "textMode": "value_and_name",
        "colorMode": "background",
        "graphMode": "none",
        "justifyMode": "auto",
    }


def names_overrides(pairs):
    return [
        {"matcher": {"id": "byName", "options": code}, "properties": [{"id": "displayName", "value": name}]}
        for name, code in pairs
    ]


INDEX_STEPS = thresholds("green", 10, "yellow", 30, "orange", 90, "red")
COVERAGE_STEPS = thresholds("red", 0.5, "orange", 0.99, "green")
COUNT_STEPS = thresholds("green", 1, "orange")
M = 'municipality="$municipality"'


def vroegsignalering(pairs):
    link = [{"title": "Open deze gemeente", "url": "/d/onrust-vroegsignalering/vroegsignalering?var-municipality=${__field.labels.municipality}"}]
    panels = [
        panel(1, "stat", "Escalatie-index (hoogste thema, 6 uur)",
              "Berichten over onrust in de laatste 6 uur, gewogen naar niveau (1 discussie = 1, 2 mobilisatie = 3, 3 escalatie = 9); het thema met de hoogste waarde. Zie dashboards/README.md.",
              (0, 0, 6, 5), [(f"max(onrust:escalation_index:6h{{{M}}}) or max(0 * onrust_coverage{{{M}}})", "index", "A", True)],
              options=stat_options(), defaults={"thresholds": INDEX_STEPS, "decimals": 0}),
        panel(2, "stat", "Actieve meldingen",
              "Meldingen die nu gelden voor deze gemeente, alle regels samen.",
              (6, 0, 6, 5), [(f"sum(onrust_municipality_alerts_firing{{{M}}})", "meldingen", "A", True)],
              options=stat_options(), defaults={"thresholds": COUNT_STEPS, "decimals": 0}),
        panel(3, "stat", "Aangekondigde acties komende 7 dagen",
              "Aangekondigde of opgeroepen acties (demonstratie, blokkade, optocht) met een tijdstip in de komende 7 dagen. Een aangekondigde demonstratie is iets om te faciliteren, geen dreiging.",
              (12, 0, 6, 5), [(f"sum(onrust_announced_actions{{{M}}})", "acties", "A", True)],
              options=stat_options(), defaults={"thresholds": COUNT_STEPS, "decimals": 0}),
        panel(4, "stat", "Dekking van de bronnen",
              "Aandeel van de bronnen voor deze gemeente dat binnen drie ophaalintervallen iets leverde. Onder 100%: stilte is hier geen rust.",
              (18, 0, 6, 5), [(f"onrust_coverage{{{M}}}", "dekking", "A", True)],
              options=stat_options(), defaults={"thresholds": COVERAGE_STEPS, "unit": "percentunit", "min": 0, "max": 1}),
        panel(5, "timeseries", "Escalatie-index per thema",
              "De escalatie-index per thema over de tijd (6 uur rollend venster, gewogen naar niveau).",
              (0, 5, 12, 9), [(f"onrust:escalation_index:6h{{{M}}}", "{{theme}}")],
              defaults={"decimals": 0, "custom": {"lineWidth": 2, "fillOpacity": 10}}),
        panel(6, "timeseries", "Berichten over onrust per uur tegen de basislijn",
              "Berichten met niveau 1 of hoger over deze gemeente in het laatste uur, naast het gemiddelde uurvolume van de afgelopen 7 dagen.",
              (12, 5, 12, 9), [(f"sum(onrust:classified_unrest:increase1h{{{M}}})", "laatste uur", "A"),
                               (f"sum(onrust:classified_unrest:baseline1h{{{M}}})", "basislijn (gemiddelde 7 dagen)", "B")],
              defaults={"decimals": 0}),
        panel(7, "timeseries", "Berichten per escalatieniveau",
              "Geclassificeerde berichten over deze gemeente per niveau (0 niet over onrust, 1 discussie, 2 mobilisatie, 3 escalatie).",
              (0, 14, 12, 8), [(f"sum by (level) (increase(onrust_classified_total{{{M}}}[$__rate_interval]))", "niveau {{level}}")],
              defaults={"decimals": 0, "custom": {"drawStyle": "bars", "stacking": {"mode": "normal"}}}),
        panel(8, "table", "Actieve meldingen per regel (hele regio)",
              "Meldingen die nu gelden, per regel en ernst.",
              (12, 14, 12, 8), [("onrust_alerts_firing", "{{rule}} ({{severity}})", "A", True)],
              transformations=[{"id": "labelsToFields", "options": {}},
                               {"id": "organize", "options": {"excludeByName": {"Time": True, "__name__": True, "instance": True, "job": True},
                                                              "renameByName": {"rule": "Regel", "severity": "Ernst", "Value": "Aantal"}}}]),
        panel(9, "stat", "Regio-overzicht: escalatie-index per gemeente (hoogste thema, 6 uur)",
              "Alle gemeenten van de regio in één oogopslag; klik op een gemeente om haar te openen.",
              (0, 22, 24, 10), [("onrust:municipality_escalation_index:6h{municipality=~\"GM.*\"}", "{{municipality}}", "A", True)],
              options=stat_options(), defaults={"thresholds": INDEX_STEPS, "decimals": 0, "links": link},
              overrides=names_overrides(pairs)),
        panel(10, "stat", "Regio-overzicht: dekking per gemeente",
              "Aandeel van de bronnen per gemeente dat levert. Rood: geen enkele bron levert; stilte is daar geen rust.",
              (0, 32, 24, 8), [("onrust_coverage{municipality=~\"GM.*\"}", "{{municipality}}", "A", True)],
              options=stat_options(), defaults={"thresholds": COVERAGE_STEPS, "unit": "percentunit", "min": 0, "max": 1, "links": link},
              overrides=names_overrides(pairs)),
        panel(11, "stat", "Regio-overzicht: aangekondigde acties komende 7 dagen",
              "Aangekondigde acties per gemeente met een tijdstip in de komende 7 dagen.",
              (0, 40, 12, 8), [("onrust_announced_actions{municipality=~\"GM.*\"}", "{{municipality}}", "A", True)],
              options=stat_options(), defaults={"thresholds": COUNT_STEPS, "decimals": 0, "links": link},
              overrides=names_overrides(pairs)),
        panel(12, "stat", "Regio-overzicht: actieve meldingen per gemeente",
              "Meldingen die nu gelden, per gemeente.",
              (12, 40, 12, 8), [("sum by (municipality) (onrust_municipality_alerts_firing{municipality=~\"GM.*\"})", "{{municipality}}", "A", True)],
              options=stat_options(), defaults={"thresholds": COUNT_STEPS, "decimals": 0, "links": link},
              overrides=names_overrides(pairs)),
    ]
    first = pairs[0] if pairs else ("Utrecht", "GM0344")
    default = next((p for p in pairs if p[1] == "GM0344"), first)
    variable = {
        "name": "municipality",
        "label": "Gemeente",
        "type": "custom",
        "query": ",".join(f"{name} : {code}" for name, code in pairs),
        "current": {"text": default[0], "value": default[1], "selected": True},
        "options": [{"text": name, "value": code, "selected": code == default[1]} for name, code in pairs],
        "multi": False,
        "includeAll": False,
        "hide": 0,
    }
    return dashboard("onrust-vroegsignalering", "Vroegsignalering", panels, [variable],
                     "Onrust per gemeente: thema's, plaatsen, tijden en volumes — nooit personen.")


def pijplijn():
    panels = [
        panel(1, "stat", "Bronnen: levert nu",
              "1 als de laatste ophaling van de bron lukte, 0 als die faalt of de bron uitgeschakeld is.",
              (0, 0, 12, 6), [("onrust_source_up", "{{source}}", "A", True)],
              options=stat_options(), defaults={"thresholds": thresholds("red", 1, "green"),
                                                 "mappings": [{"type": "value", "options": {"0": {"text": "storing"}, "1": {"text": "levert"}}}]}),
        panel(2, "stat", "Bronnen: stilte sinds laatste geslaagde ophaling",
              "Seconden sinds de bron voor het laatst iets leverde.",
              (12, 0, 12, 6), [("onrust:source_silence_seconds", "{{source}}", "A", True)],
              options=stat_options(), defaults={"unit": "s", "thresholds": thresholds("green", 900, "orange", 3600, "red")}),
        panel(3, "timeseries", "Bronnen: ophaalresultaten",
              "Ophaalpogingen per bron en uitkomst (ok, not_modified, error, gone, too_large, blocked, ...).",
              (0, 6, 12, 8), [("sum by (source, outcome) (rate(onrust_source_fetches_total[$__rate_interval]))", "{{source}} {{outcome}}")],
              defaults={"unit": "reqps"}),
        panel(4, "timeseries", "Bronnen: nieuwe berichten",
              "Nieuwe berichten per bron op de bus.",
              (12, 6, 12, 8), [("sum by (source) (rate(onrust_source_items_total[$__rate_interval]))", "{{source}}")],
              defaults={"unit": "short"}),
        panel(5, "timeseries", "Bronnen: ontvangen bytes",
              "Bytes per seconde per bron.",
              (0, 14, 12, 8), [("sum by (source) (rate(onrust_source_received_bytes_total[$__rate_interval]))", "{{source}}")],
              defaults={"unit": "Bps"}),
        panel(6, "timeseries", "Bronnen: wachttijd na storing",
              "Huidige wachttijd (backoff) voor de volgende poging.",
              (12, 14, 12, 8), [("onrust_source_backoff_seconds", "{{source}}")],
              defaults={"unit": "s"}),
        panel(7, "timeseries", "Verwerking: doorvoer per fase",
              "Berichten per seconde per fase (ingest, classify, archive, alert) en uitkomst.",
              (0, 22, 12, 8), [("sum by (stage, outcome) (rate(onrust_stage_messages_total[$__rate_interval]))", "{{stage}} {{outcome}}")],
              defaults={"unit": "short"}),
        panel(8, "timeseries", "Verwerking: duur per fase (95e percentiel)",
              "Hoe lang een batch in een fase is (archive: van het eerste bericht tot de commit die het doorzoekbaar maakt).",
              (12, 22, 12, 8), [("histogram_quantile(0.95, sum by (stage, le) (rate(onrust_stage_latency_seconds_bucket[$__rate_interval])))", "{{stage}}")],
              defaults={"unit": "s"}),
        panel(9, "timeseries", "Verwerking: wachtrij per fase",
              "Berichten die op de bus op een fase wachten.",
              (0, 30, 12, 8), [("onrust_bus_queue_depth", "{{stage}}")],
              defaults={"unit": "short"}),
        panel(10, "stat", "Daemon gereed",
              "1 als onrust gereed is; geen gegevens betekent dat Prometheus onrust niet bereikt.",
              (12, 30, 3, 8), [("onrust_ready", "gereed", "A", True)],
              options=stat_options(), defaults={"thresholds": thresholds("red", 1, "green")}),
        panel(22, "stat", "Stilgelegd",
              "1 als onrust is stilgelegd (onrust halt, regel L13): er wordt niets opgehaald en er gaan geen meldingen uit, tot iemand het hervat. Een stilgelegde daemon blijft gereed.",
              (15, 30, 3, 8), [("onrust_halted", "stilgelegd", "A", True)],
              options=stat_options(), defaults={"thresholds": thresholds("green", 1, "red"), "decimals": 0}),
        panel(11, "stat", "Archief: documenten",
              "Documenten in het archief na de laatste commit.",
              (18, 30, 6, 8), [("onrust_archive_documents", "documenten", "A", True)],
              options=stat_options(), defaults={"thresholds": thresholds("blue"), "decimals": 0}),
        panel(12, "timeseries", "Archief: duur van een commit (95e percentiel)",
              "Tijd om een batch duurzaam te maken.",
              (0, 38, 8, 8), [("histogram_quantile(0.95, sum by (le) (rate(onrust_archive_commit_duration_seconds_bucket[$__rate_interval])))", "p95")],
              defaults={"unit": "s"}),
        panel(13, "timeseries", "Archief: grootte op schijf",
              "Alle buckets samen en de grootste bucket.",
              (8, 38, 8, 8), [("onrust_archive_bytes", "totaal", "A"), ("onrust_archive_largest_bucket_bytes", "grootste bucket", "B")],
              defaults={"unit": "bytes"}),
        panel(14, "stat", "Archief: aantal buckets",
              "Tijdvakken (één index per week) in het archief.",
              (16, 38, 8, 8), [("onrust_archive_buckets", "buckets", "A", True)],
              options=stat_options(), defaults={"thresholds": thresholds("blue"), "decimals": 0}),
        panel(15, "table", "Meldingen: actief per regel en ernst",
              "Meldingen die nu gelden.",
              (0, 46, 8, 8), [("onrust_alerts_firing", "{{rule}} ({{severity}})", "A", True)],
              transformations=[{"id": "labelsToFields", "options": {}},
                               {"id": "organize", "options": {"excludeByName": {"Time": True, "__name__": True, "instance": True, "job": True},
                                                              "renameByName": {"rule": "Regel", "severity": "Ernst", "Value": "Aantal"}}}]),
        panel(16, "timeseries", "Meldingen: in de wachtrij gezet en bevestigd",
              "Berichten aan ontvangers in de outbox gezet, en meldingen door een officier bevestigd, per regel en ernst.",
              (8, 46, 8, 8), [("sum by (rule, severity) (increase(onrust_alert_notifications_total{outcome=\"queued\"}[$__rate_interval]))", "gemeld {{rule}} ({{severity}})", "A"),
                              ("sum by (rule, severity) (increase(onrust_alert_acknowledgements_total[$__rate_interval]))", "bevestigd {{rule}} ({{severity}})", "B")],
              defaults={"decimals": 0}),
        panel(17, "stat", "Meldingen: afleverpogingen per kanaal",
              "Pogingen om een bericht af te leveren in de gekozen periode, per kanaal en uitkomst (sent, retry, failed); "
              "en per kanaal dat faalde of de supervisors langs een ander kanaal zijn ingelicht (told), niemand anders was "
              "in te lichten (nobody) of ook dat bericht faalde (notice_failed).",
              (16, 46, 8, 8), [("sum by (channel, outcome) (increase(onrust_alert_deliveries_total[$__range]))", "{{channel}} {{outcome}}", "A", True),
                               ("sum by (channel, outcome) (increase(onrust_alert_delivery_failure_notices_total[$__range]))",
                                "{{channel}} mislukt, supervisors: {{outcome}}", "B", True)],
              options=stat_options(), defaults={"decimals": 0, "thresholds": thresholds("green")}),
        panel(18, "timeseries", "Meldingen: duur van een ronde (95e percentiel)",
              "Hoe lang een ronde van de meldingsfase duurt (regels evalueren, berichten maken, status opslaan).",
              (0, 54, 12, 8), [("histogram_quantile(0.95, sum by (le) (rate(onrust_alert_cycle_seconds_bucket[$__rate_interval])))", "p95")],
              defaults={"unit": "s"}),
        panel(19, "stat", "Dekking: gemeenten zonder leverende bron",
              "Aantal gemeenten van de regio waarvoor geen enkele bron levert.",
              (12, 54, 12, 8), [("count(onrust_coverage == 0) or vector(0)", "gemeenten", "A", True)],
              options=stat_options(), defaults={"thresholds": COUNT_STEPS, "decimals": 0}),
        panel(20, "timeseries", "Bronnen: duur van een ophaling (95e percentiel)",
              "Hoe lang één ophaling per bron duurt, inclusief het wachten op de beleefdheidspauze per host.",
              (0, 62, 24, 8), [("histogram_quantile(0.95, sum by (source, le) (rate(onrust_source_fetch_duration_seconds_bucket[$__rate_interval])))", "{{source}}")],
              defaults={"unit": "s"}),
        panel(21, "stat", "Mandaten: dagen over",
              "Dagen tot en met de laatste dag van elk mandaat (regel L5). Onder 14 waarschuwt onrust dagelijks in zijn log; "
              "na de laatste dag stoppen de bronnen en regels van het mandaat. Leg op tijd een nieuw mandaat vast.",
              (0, 70, 24, 6), [("onrust_mandate_days_left", "{{mandate}}", "A", True)],
              options=stat_options(), defaults={"decimals": 0, "thresholds": thresholds("red", 0, "orange", 14, "green")}),
    ]
    return dashboard("onrust-pijplijn", "Pijplijn: gezondheid", panels, [],
                     "Bronnen, verwerking, archief en meldingen van onrust.")


def dashboard(uid, title, panels, variables, description):
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["onrust"],
        "timezone": "Europe/Amsterdam",
        "editable": False,
        "refresh": "1m",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-24h", "to": "now"},
        "templating": {"list": variables},
        "annotations": {"list": []},
        "links": [{"title": "Dashboards van onrust", "type": "dashboards", "tags": ["onrust"], "asDropdown": True}],
        "panels": panels,
    }


def main():
    pairs = region()
    out = ROOT / "dashboards"
    for name, board in (("vroegsignalering.json", vroegsignalering(pairs)), ("pijplijn.json", pijplijn())):
        (out / name).write_text(json.dumps(board, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
