#!/usr/bin/env python3
"""Generates the Grafana dashboards in dashboards/ from one description.

Run it after changing a panel or a rule pack threshold:
    python3 scripts/dashboards.py

Two query languages, because the two supported stores answer different ones:
- dashboards/*.json (but daemon-health) query InfluxQL, so they work
  unchanged on InfluxDB 1.8+, 2.x (through a DBRP mapping) and 3.x;
- dashboards/victoriametrics/*.json are the portfolio and site overview in
  MetricsQL (PromQL plus `lag`) for VictoriaMetrics, which takes the same
  line protocol (`reading` + field `value` becomes `reading_value`) but has
  no InfluxQL; daemon-health.json reads the daemon's own Prometheus metrics
  (VictoriaMetrics or Prometheus scraping `GET /metrics`).
One set for both stores is not possible: a Grafana panel has one query in
one datasource's language.

Every dashboard picks its datasource from a `datasource` variable whose
first value is `${DS_SITEWARDEN_INFLUX}` (or `_PROMETHEUS`), declared in
`__inputs`: imported through Grafana's UI, it asks for the datasource;
provisioned from files, the variable falls back to the first datasource of
its type. Threshold lines come from the rule packs in config/standards, so
a changed limit moves its line.
"""

import json
import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
INFLUX_INPUT = "DS_SITEWARDEN_INFLUX"
PROM_INPUT = "DS_SITEWARDEN_PROMETHEUS"
DATASOURCE = {"type": "influxdb", "uid": "${datasource}"}
PROM = {"type": "prometheus", "uid": "${datasource}"}
LIFE_SAFETY = "fire|emergency_button|guard_safety|medical|lift_entrapment"


def pack_thresholds():
    found = {}
    for path in sorted((ROOT / "config" / "standards").glob("*.toml")):
        pack = tomllib.loads(path.read_text())
        for rule in pack.get("rule", []):
            if "threshold" in rule:
                found[f'{pack["pack"]}.{rule["id"]}'] = rule["threshold"]
    return found


T = pack_thresholds()
SITE = '"site" =~ /^$site$/'
DEVICE = '"device" =~ /^$device$/'


def role_query(roles, agg="mean", extra_group=""):
    where = " OR ".join(f"\"role\" = '{r}'" for r in roles)
    # A nested aggregate (`non_negative_difference(last`) closes its own bracket.
    close = ")" * agg.count("(")
    return (
        f'SELECT {agg}("value"){close} FROM "reading" WHERE {SITE} AND {DEVICE} AND ({where}) '
        f'AND $timeFilter GROUP BY time($__interval), "device", "point"{extra_group} fill(null)'
    )


def thresholds(steps, base="green"):
    """Grafana threshold steps drawn as lines: the colour below the first
    step, then (value, colour) from each value up. A low limit is bad below
    it: its base is the warning colour and green starts at the limit."""
    return {
        "mode": "absolute",
        "steps": [{"color": base, "value": None}]
        + [{"color": c, "value": v} for v, c in steps],
    }


def timeseries(title, query, unit="", steps=(), step_line=True, description="", base="green"):
    defaults = {"unit": unit, "custom": {"thresholdsStyle": {"mode": "line" if steps and step_line else "off"}}}
    if steps:
        defaults["thresholds"] = thresholds(steps, base)
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "targets": [{"refId": "A", "datasource": DATASOURCE, "rawQuery": True, "resultFormat": "time_series", "query": query}],
    }


def table(title, query, description=""):
    return {
        "type": "table",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": [{"refId": "A", "datasource": DATASOURCE, "rawQuery": True, "resultFormat": "table", "query": query}],
    }


def stat(title, query, description=""):
    panel = table(title, query, description)
    panel["type"] = "stat"
    return panel


def state_timeline(title, query, on="on", off="off", bad_when_on=False, description=""):
    """A binary state (running, in alarm, door open) drawn as coloured bands
    over time, 0 and 1 named, instead of a line jumping between 0 and 1."""
    on_colour, off_colour = ("red", "green") if bad_when_on else ("green", "text")
    return {
        "type": "state-timeline",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {
            "defaults": {
                "mappings": [{"type": "value", "options": {
                    "0": {"text": off, "color": off_colour, "index": 0},
                    "1": {"text": on, "color": on_colour, "index": 1},
                }}],
                "thresholds": thresholds([(1, on_colour)], off_colour),
                "color": {"mode": "thresholds"},
            },
            "overrides": [],
        },
        "options": {"showValue": "never", "mergeValues": True, "rowHeight": 0.8},
        "targets": [{"refId": "A", "datasource": DATASOURCE, "rawQuery": True, "resultFormat": "time_series", "query": query}],
    }


def datasource_variable(kind):
    """The datasource picker: `__inputs` fills it on import, provisioning
    falls back to the first datasource of `kind`."""
    name = INFLUX_INPUT if kind == "influxdb" else PROM_INPUT
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": kind,
        "current": {"text": "${%s}" % name, "value": "${%s}" % name},
        "hide": 0,
    }


def inputs(kind):
    name, label, plugin = (
        (INFLUX_INPUT, "InfluxDB (InfluxQL) with sitewarden's data", "influxdb")
        if kind == "influxdb"
        else (PROM_INPUT, "VictoriaMetrics or Prometheus with sitewarden's data", "prometheus")
    )
    return [{"name": name, "label": label, "description": "", "type": "datasource", "pluginId": plugin, "pluginName": plugin.title()}]


def variables(with_device=True, daily=False):
    site = {
        "name": "site",
        "label": "Site",
        "type": "query",
        "datasource": DATASOURCE,
        "query": 'SHOW TAG VALUES FROM "reading" WITH KEY = "site"',
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "refresh": 2,
    }
    device = {
        "name": "device",
        "label": "Device",
        "type": "query",
        "datasource": DATASOURCE,
        "query": 'SHOW TAG VALUES FROM "reading" WITH KEY = "device" WHERE "site" =~ /^$site$/',
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "refresh": 2,
    }
    tz = {
        "name": "tz",
        "label": "Site time zone",
        "type": "textbox",
        "query": "Asia/Shanghai",
        "current": {"text": "Asia/Shanghai", "value": "Asia/Shanghai"},
        "description": "IANA zone of the site ([site] time_zone): daily figures are the site's local days",
    }
    return {"list": [datasource_variable("influxdb"), site] + ([device] if with_device else []) + ([tz] if daily else [])}


def annotations():
    """Alerts raised and tickets opened, as marks on every time panel."""
    def mark(name, colour, query, text, tags):
        return {"name": name, "datasource": DATASOURCE, "enable": True, "hide": False, "iconColor": colour,
                "query": query, "textColumn": text, "tagsColumn": tags}
    return {"list": [
        {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
         "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"},
        mark("Alerts raised", "red",
             'SELECT "id", "class", "device" FROM "alert" WHERE "site" =~ /^$site$/ AND "event" = \'raised\' AND $timeFilter',
             "class", "class,device"),
        mark("Tickets opened", "blue",
             'SELECT "id", "category", "priority" FROM "ticket" WHERE "site" =~ /^$site$/ AND "event" = \'created\' AND $timeFilter',
             "category", "priority,category"),
    ]}


def layout(panels):
    for i, p in enumerate(panels):
        p["id"] = i + 1
        p["gridPos"] = {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8}
    return panels


def dashboard(uid, title, panels, with_device=True):
    """Dashboards with daily figures get a `tz` variable: a day is the site's local day."""
    daily = any("time(1d)" in t["query"] for p in panels for t in p["targets"])
    return {
        "__inputs": inputs("influxdb"),
        "uid": uid,
        "title": title,
        "tags": ["sitewarden"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "10s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": annotations(),
        "links": [{"title": "Portfolio", "type": "link", "url": "/d/sitewarden-portfolio", "icon": "dashboard", "keepTime": True,
                   "asDropdown": False, "includeVars": False, "tags": [], "targetBlank": False, "tooltip": "All sites"}],
        "templating": variables(with_device, daily),
        "panels": layout(panels),
    }


CONDITIONS = f'FROM "condition" WHERE {SITE} AND {DEVICE}'

DASHBOARDS = {
    "site-overview": dashboard("sitewarden-overview", "Site overview", [
        table("Devices online", f'SELECT last("online") AS "online", last("state") AS "state" FROM "device_state" WHERE {SITE} AND {DEVICE} AND $timeFilter GROUP BY "site", "device"',
              "Written on every change and again at every snapshot ([sinks.influx] snapshot_every), so a quiet site is never empty."),
        stat("Open alerts and tickets now", f'SELECT last("open_alerts") AS "open alerts", last("open_tickets") AS "open tickets", last("conditions_active") AS "conditions" FROM "site_state" WHERE {SITE} AND $timeFilter GROUP BY "site"',
             "From the state snapshot."),
        table("Conditions (latest transition per condition)", f'SELECT last("active") AS "active", last("state") AS "state", last("value") AS "value" {CONDITIONS} AND $timeFilter GROUP BY "site", "device", "point", "rule", "severity"'),
        timeseries("Conditions raised by severity", f'SELECT count("active") {CONDITIONS} AND "transition" = \'raised\' AND $timeFilter GROUP BY time($__interval), "severity" fill(0)'),
        table("Tickets opened by priority", f'SELECT count("id") FROM "ticket" WHERE {SITE} AND "event" = \'created\' AND $timeFilter GROUP BY "priority"'),
        table("Alerts raised by class", f'SELECT count("id") FROM "alert" WHERE {SITE} AND "event" = \'raised\' AND $timeFilter GROUP BY "class"'),
        timeseries("Readings written per minute", f'SELECT count("value") FROM "reading" WHERE {SITE} AND {DEVICE} AND $timeFilter GROUP BY time(1m), "device" fill(0)'),
    ]),
    "hvac": dashboard("sitewarden-hvac", "HVAC", [
        timeseries("Supply and return air", role_query(["supply_air_temp", "return_air_temp", "supply_air_setpoint"]), "celsius"),
        timeseries("Filter differential pressure", role_query(["filter_dp"]), "pressurepa",
                   [(T["hvac.filter_dp_high"], "orange"), (T["hvac.filter_dp_high_high"], "red")],
                   description="Lines: hvac.filter_dp_high and filter_dp_high_high from config/standards/hvac.toml."),
        timeseries("Run hours since filter service", role_query(["filter_run_hours"], "last"), "h",
                   [(T["hvac.filter_service_due"], "orange")]),
        state_timeline("Fan and compressor running", role_query(["fan_status", "compressor_status"], "last"), "running", "stopped"),
        timeseries("Outdoor air", role_query(["outdoor_air_temp"]), "celsius"),
        timeseries("Fan run hours", role_query(["fan_run_hours"], "last"), "h"),
    ]),
    "lighting-energy": dashboard("sitewarden-lighting", "Lighting and energy", [
        state_timeline("Circuits on (against opening hours)", role_query(["circuit_status"], "last"),
                       description="Conditions lighting.on_while_closed / off_while_open mark the breaches."),
        timeseries("Power per circuit", role_query(["circuit_power"]), "watt"),
        timeseries("Lamp run hours", role_query(["lamp_run_hours"], "last"), "h",
                   [(T["lighting.lamp_rated_life"], "orange")]),
        table("Schedule breaches", f'SELECT "state", "value" {CONDITIONS} AND ("rule" = \'lighting.on_while_closed\' OR "rule" = \'lighting.off_while_open\') AND $timeFilter'),
    ]),
    "building": dashboard("sitewarden-building", "Lifts, car park, comfort and energy", [
        state_timeline("Lifts: in service", role_query(["lift_in_service"], "last"), "in service", "out of service",
                       description="lifts.lift_out_of_service_while_open raises on this."),
        state_timeline("Lifts: fault, people trapped, alarm button", role_query(["lift_fault", "lift_entrapment", "lift_alarm_button"], "last"), "yes", "no", True,
                       description="lifts.lift_fault, entrapment and alarm_button_doors_shut raise on these."),
        timeseries("Lift car position", role_query(["lift_floor"], "last"),
                   description="The floor the car is at: tell the person on the intercom where the car stopped."),
        timeseries("Lift trips since the last service", role_query(["lift_run_count"], "last"), "",
                   [(T["lifts.trips_service_due"], "orange")]),
        state_timeline("Car park and perimeter fence", role_query(["barrier_fault", "plate_recognition_fault", "parking_guidance_fault", "fence_alarm", "fence_fault"], "max", ', "zone"'), "fault or alarm", "normal", True,
                       description="The carpark rules raise on these."),
        state_timeline("Cameras online", role_query(["camera_online"], "last"), "online", "offline",
                       description="security.camera_offline raises when one goes offline."),
        timeseries("Room temperature", role_query(["room_temp"]), "celsius",
                   [(T["comfort.room_too_cold_while_open"], "green"), (T["comfort.room_too_warm_while_open"], "orange")],
                   base="blue", description="Comfort band while open (GB 50736-2012 level II): blue too cold, orange too warm."),
        timeseries("Room humidity", role_query(["room_humidity"]), "percent",
                   [(T["comfort.room_too_humid_while_open"], "orange")]),
        timeseries("CO2", role_query(["co2"]), "ppm", [(T["comfort.co2_high"], "orange")],
                   description="GB/T 18883-2022: 1,000 ppm."),
        timeseries("Light level", role_query(["illuminance"]), "lux", [(T["lighting.too_dark_while_open"], "green")],
                   base="orange", description="Orange below lighting.too_dark_while_open."),
        state_timeline("Presence and smart plugs", role_query(["occupancy", "smart_plug_status"], "last"), description="Someone in / plug on; shown, not judged."),
        timeseries("Power drawn", role_query(["power"]), "watt"),
        timeseries("Energy used per interval", role_query(["energy"], "non_negative_difference(last"),
                   "kwatth", description="kWh each meter counted in each interval; comfort.energy_while_closed watches it while the site is closed."),
        table("Lift, car park and comfort conditions", f'SELECT "state", "value" {CONDITIONS} AND "rule" =~ /^(lifts|carpark|comfort)\\./ AND $timeFilter'),
    ]),
    "fire-security": dashboard("sitewarden-fire-security", "Fire and security", [
        state_timeline("Fire zones in alarm", role_query(["fire_alarm"], "max", ', "zone"'), "alarm", "normal", True),
        timeseries("Sprinkler pipe pressure", role_query(["sprinkler_pressure"]), "pressurebar",
                   [(T["fire.sprinkler_pressure_low_low"], "orange"), (T["fire.sprinkler_pressure_low"], "green")],
                   base="red", description="Red below fire.sprinkler_pressure_low_low, orange below sprinkler_pressure_low."),
        state_timeline("Doors forced, held open, opened", role_query(["door_forced", "door_held_open", "door_open"], "max", ', "zone"'), "yes", "no", True),
        table("Alarm timeline", f'SELECT "transition", "state", "value" {CONDITIONS} AND ("severity" = \'critical\' OR "rule" =~ /^(fire|security)\\./) AND $timeFilter'),
        timeseries("Time to acknowledge an alert", f'SELECT mean("ack_s") FROM "alert" WHERE {SITE} AND "event" = \'acknowledged\' AND $timeFilter GROUP BY time(1h), "class"', "s"),
        table("Alert timeline", f'SELECT "event", "id", "step", "drill" FROM "alert" WHERE {SITE} AND $timeFilter'),
        state_timeline("Fire and emergency faults", role_query(["fire_fault", "fire_supervisory", "panel_fault", "emergency_button", "tamper"], "max"), "fault", "normal", True),
    ]),
    "tickets": dashboard("sitewarden-tickets", "Tickets and service levels", [
        timeseries("Ticket events per hour", f'SELECT count("id") FROM "ticket" WHERE {SITE} AND $timeFilter GROUP BY time(1h), "event" fill(0)',
                   description="created, occurrence, dispatch, start, resolve, reject, accept, archive, condition_cleared, *_target_missed."),
        timeseries("Response and resolution times of accepted repairs", f'SELECT mean("response_s") AS "response", mean("resolution_s") AS "resolution" FROM "ticket" WHERE {SITE} AND "event" = \'accept\' AND $timeFilter GROUP BY time(1d), "priority" tz(\'$tz\')', "s"),
        table("Service-level breaches", f'SELECT count("breach") FROM "ticket" WHERE {SITE} AND $timeFilter GROUP BY "priority"'),
        table("Tickets opened by category and origin", f'SELECT count("id") FROM "ticket" WHERE {SITE} AND "event" = \'created\' AND $timeFilter GROUP BY "category", "origin"'),
        table("Conditions that would open tickets", f'SELECT count("active") FROM "condition" WHERE {SITE} AND "transition" = \'raised\' AND $timeFilter GROUP BY "rule", "device"'),
    ], with_device=False),
    "patrols": dashboard("sitewarden-patrols", "Patrols", [
        table("Rounds", f'SELECT last("completion") FROM "patrol" WHERE {SITE} AND $timeFilter GROUP BY "route"', "Filled in once a patrol round is over (needs [[patrol.routes]])."),
        timeseries("Daily completion rate", f'SELECT mean("completion") FROM "patrol" WHERE {SITE} AND $timeFilter GROUP BY time(1d), "route" tz(\'$tz\')', "percentunit", description="Filled in once a patrol round is over (needs [[patrol.routes]])."),
        timeseries("Missed checkpoints per day", f'SELECT sum("missed") FROM "patrol" WHERE {SITE} AND $timeFilter GROUP BY time(1d), "route" tz(\'$tz\')', description="Filled in once a patrol round is over (needs [[patrol.routes]])."),
    ], with_device=False),
}


LIFE_SAFETY_RE = "/^(" + LIFE_SAFETY + ")$/"
SITE_LINK = [{"title": "Open ${__data.fields.site} in the site overview", "url": "/d/sitewarden-overview?var-site=${__data.fields.site}&${__url_time_range}"}]


def linked(panel):
    """Drill-down: a click on a site's row opens that site's overview."""
    panel.setdefault("fieldConfig", {"defaults": {}, "overrides": []})["defaults"]["links"] = SITE_LINK
    return panel


DASHBOARDS["portfolio"] = dashboard("sitewarden-portfolio", "Portfolio", [
    linked(table("Sites: devices online, open work, last report", 'SELECT last("devices_online") AS "devices online", last("devices") AS "devices", last("conditions_active") AS "conditions", last("open_alerts") AS "open alerts", last("open_tickets") AS "open tickets" FROM "site_state" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY "site"',
                 "One row per site from its state snapshot; the time is its last report. Click a row for the site's overview.")),
    state_timeline("Sites reporting (no snapshot for 3 minutes: offline)", 'SELECT count("devices") FROM "site_state" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY time(3m), "site" fill(0)',
                   "reporting", "offline",
                   description="Snapshots per 3 minutes per site; a site whose daemon, gateway or uplink is down shows offline."),
    linked(table("Open alerts by class and site", 'SELECT last("count") AS "open" FROM "open_alerts" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY "site", "class"')),
    linked(table("Life-safety alerts in the last 24 h", f'SELECT count("id") AS "raised" FROM "alert" WHERE "site" =~ /^$site$/ AND "event" = \'raised\' AND "class" =~ {LIFE_SAFETY_RE} AND time > now() - 24h GROUP BY "site", "class"',
                 "Fire, emergency button, guard safety, medical and lift entrapment alerts raised.")),
    linked(table("Service-level breaches by site", 'SELECT count("breach") AS "breaches" FROM "ticket" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY "site", "priority"',
                 "Response or resolution targets missed ([tickets.service_levels]).")),
    linked(table("Patrol completion by site", 'SELECT mean("completion") AS "completion" FROM "patrol" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY "site", "route"',
                 "Share of checkpoints tapped in time per round, averaged over the time range.")),
    linked(table("Requester satisfaction by site", 'SELECT mean("satisfaction") AS "score (1-5)", count("satisfaction") AS "answers" FROM "ticket" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY "site"',
                 "The score requesters gave when they accepted a repair or at the return visit.")),
    timeseries("Open alerts per site", 'SELECT last("open_alerts") FROM "site_state" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY time($__interval), "site" fill(previous)'),
    timeseries("Devices offline per site", 'SELECT last("devices") - last("devices_online") FROM "site_state" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY time($__interval), "site" fill(previous)'),
], with_device=False)
DASHBOARDS["portfolio"]["templating"]["list"][1]["query"] = 'SHOW TAG VALUES FROM "site_state" WITH KEY = "site"'


def prom(title, expr, kind="timeseries", unit="", description="", instant=False, legend=""):
    """A panel on VictoriaMetrics/Prometheus; `instant` for "now" tables."""
    target = {"refId": "A", "datasource": PROM, "expr": expr, "legendFormat": legend or "__auto"}
    if instant:
        target.update({"instant": True, "range": False, "format": "table"})
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": PROM,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [target],
    }


def prom_dashboard(uid, title, panels, site_metric):
    site = {
        "name": "site", "label": "Site", "type": "query", "datasource": PROM,
        "query": {"query": f"label_values({site_metric}, site)", "refId": "site"},
        "definition": f"label_values({site_metric}, site)",
        "includeAll": True, "multi": True, "allValue": ".*", "refresh": 2,
    }
    return {
        "__inputs": inputs("prometheus"),
        "uid": uid,
        "title": title,
        "tags": ["sitewarden", "victoriametrics"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [datasource_variable("prometheus"), site]},
        "panels": layout(panels),
    }


S = 'site=~"$site"'
# How long without a snapshot before a site counts as offline: three
# snapshots at the default snapshot_every of 60 s.
OFFLINE_AFTER_S = 180
PROM_LINK = [{"title": "Open ${__data.fields.site} in the site overview", "url": "/d/sitewarden-vm-overview?var-site=${__data.fields.site}&${__url_time_range}"}]


def prom_linked(panel):
    panel["fieldConfig"]["defaults"]["links"] = PROM_LINK
    return panel


VICTORIA = {
    "portfolio": prom_dashboard("sitewarden-vm-portfolio", "Portfolio (VictoriaMetrics)", [
        prom_linked(prom("Sites: devices online, open work", f'last_over_time(site_state_devices_online{{{S}}}[10m])', "table", instant=True,
                         description="Devices online per site from its state snapshot. Click a row for the site's overview.")),
        prom("Sites offline", f'count(lag(site_state_devices{{{S}}}[1d]) > {OFFLINE_AFTER_S}) or vector(0)', "stat",
             description=f"Sites whose last state snapshot is older than {OFFLINE_AFTER_S} s (three default snapshot intervals; MetricsQL lag())."),
        prom_linked(prom("Open alerts by class and site", f'last_over_time(open_alerts_count{{{S}}}[10m]) > 0', "table", instant=True)),
        prom_linked(prom("Life-safety alerts in the last 24 h", f'sum by (site, class) (count_over_time(alert_id{{{S}, event="raised", class=~"{LIFE_SAFETY}"}}[24h]))', "table", instant=True,
                         description="Fire, emergency button, guard safety, medical and lift entrapment alerts raised.")),
        prom_linked(prom("Service-level breaches by site", f'sum by (site, priority) (count_over_time(ticket_breach{{{S}}}[$__range]))', "table", instant=True)),
        prom_linked(prom("Patrol completion by site", f'avg by (site) (avg_over_time(patrol_completion{{{S}}}[$__range]))', "table", "percentunit", instant=True)),
        prom_linked(prom("Requester satisfaction by site", f'avg by (site) (avg_over_time(ticket_satisfaction{{{S}}}[$__range]))', "table", instant=True,
                         description="The score (1-5) requesters gave when they accepted a repair or at the return visit.")),
        prom("Open alerts per site", f'max by (site) (site_state_open_alerts{{{S}}})', legend="{{site}}"),
        prom("Devices offline per site", f'max by (site) (site_state_devices{{{S}}} - site_state_devices_online{{{S}}})', legend="{{site}}"),
    ], "site_state_devices"),
    "site-overview": prom_dashboard("sitewarden-vm-overview", "Site overview (VictoriaMetrics)", [
        prom("Devices online", f'last_over_time(device_state_online{{{S}}}[10m])', "table", instant=True),
        prom("Conditions raised now", f'last_over_time(condition_active{{{S}, transition="snapshot"}}[3m])', "table", instant=True,
             description="From the state snapshot: one row per raised condition."),
        prom("Open alerts and tickets now", f'last_over_time(site_state_open_alerts{{{S}}}[10m]) or last_over_time(site_state_open_tickets{{{S}}}[10m])', "stat", instant=True),
        prom("Conditions raised by severity", f'sum by (severity) (count_over_time(condition_active{{{S}, transition="raised"}}[$__interval]))', legend="{{severity}}"),
        prom("Tickets opened by priority", f'sum by (priority) (count_over_time(ticket_id{{{S}, event="created"}}[$__range]))', "table", instant=True),
        prom("Alerts raised by class", f'sum by (class) (count_over_time(alert_id{{{S}, event="raised"}}[$__range]))', "table", instant=True),
        prom("Readings written per minute", f'sum by (site, device) (count_over_time(reading_value{{{S}}}[1m]))', legend="{{device}}"),
    ], "site_state_devices"),
}

DAEMON_HEALTH = prom_dashboard("sitewarden-daemon-health", "Daemon health", [
    prom("Stages down", f'count by (site) (sitewarden_stage_up{{{S}}} == 0) or on(site) (0 * max by (site) (sitewarden_stage_up{{{S}}}))', "stat",
         description="Watched stages not running (GET /healthz names them). 0 is healthy."),
    prom("Scrape up", f'up{{job="sitewarden", {S}}}', "state-timeline", legend="{{site}}", description="1 = the daemon's /metrics answered the last scrape."),
    prom("Devices online", f'sitewarden_devices_online{{{S}}}', legend="{{site}}"),
    prom("Modbus polls per second (failed)", f'sum by (site) (rate(sitewarden_modbus_polls_total{{{S}}}[5m])) or sum by (site) (rate(sitewarden_modbus_failed_polls_total{{{S}}}[5m]))', legend="{{site}}"),
    prom("InfluxDB lines waiting on disk", f'sitewarden_influx_buffered_lines{{{S}}}', legend="{{site}}",
         description="Non-zero while the store is unreachable; falls as the buffer replays."),
    prom("InfluxDB write errors per minute", f'sum by (site) (rate(sitewarden_influx_write_errors_total{{{S}}}[5m])) * 60', legend="{{site}}"),
    prom("MQTT messages queued", f'sitewarden_mqtt_queued{{{S}}}', legend="{{site}}",
         description="Messages held in the outbox while the broker is unreachable."),
    prom("Alert delivery faults", f'sum by (site) (increase(sitewarden_alert_delivery_faults_total{{{S}}}[$__range]))', "stat", legend="{{site}}"),
    prom("Disk free", f'sitewarden_disk_free_bytes{{{S}}}', unit="bytes", legend="{{site}}"),
    prom("Stage restarts", f'sum by (site) (increase(sitewarden_stage_restarts_total{{{S}}}[$__range]))', "stat", legend="{{site}}"),
], "sitewarden_devices")


def main():
    out = ROOT / "dashboards"
    (out / "victoriametrics").mkdir(exist_ok=True)
    written = {out / f"{name}.json": body for name, body in DASHBOARDS.items()}
    written |= {out / "victoriametrics" / f"{name}.json": body for name, body in VICTORIA.items()}
    written[out / "daemon-health.json"] = DAEMON_HEALTH
    for path, body in written.items():
        path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(written)} dashboards under {out}")


if __name__ == "__main__":
    main()
