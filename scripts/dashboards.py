#!/usr/bin/env python3
"""Generates the Grafana dashboards in dashboards/ from one description.

Run it after changing a panel or a rule pack threshold:
    python3 scripts/dashboards.py
Every query is InfluxQL, so the dashboards work unchanged on InfluxDB 1.8+,
2.x (through a DBRP mapping) and 3.x. Threshold lines come from the rule
packs in config/standards, so a changed limit moves its line.
"""

import json
import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATASOURCE = {"type": "influxdb", "uid": "sitewarden-influx"}


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
    return {"list": ([site, device] if with_device else [site]) + ([tz] if daily else [])}


def dashboard(uid, title, panels, with_device=True):
    """Dashboards with daily figures get a `tz` variable: a day is the site's local day."""
    daily = any("time(1d)" in t["query"] for p in panels for t in p["targets"])
    for i, p in enumerate(panels):
        p["id"] = i + 1
        p["gridPos"] = {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8}
    return {
        "uid": uid,
        "title": title,
        "tags": ["sitewarden"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "10s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": variables(with_device, daily),
        "panels": panels,
    }


CONDITIONS = f'FROM "condition" WHERE {SITE} AND {DEVICE}'

DASHBOARDS = {
    "site-overview": dashboard("sitewarden-overview", "Site overview", [
        table("Devices online", f'SELECT last("online") AS "online", last("state") AS "state" FROM "device_state" WHERE {SITE} AND {DEVICE} AND $timeFilter GROUP BY "site", "device"'),
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
        timeseries("Fan and compressor running", role_query(["fan_status", "compressor_status"], "last")),
        timeseries("Outdoor air", role_query(["outdoor_air_temp"]), "celsius"),
        timeseries("Fan run hours", role_query(["fan_run_hours"], "last"), "h"),
    ]),
    "lighting-energy": dashboard("sitewarden-lighting", "Lighting and energy", [
        timeseries("Circuits on (against opening hours)", role_query(["circuit_status"], "last"),
                   description="1 = on. Conditions lighting.on_while_closed / off_while_open mark the breaches."),
        timeseries("Power per circuit", role_query(["circuit_power"]), "watt"),
        timeseries("Lamp run hours", role_query(["lamp_run_hours"], "last"), "h",
                   [(T["lighting.lamp_rated_life"], "orange")]),
        table("Schedule breaches", f'SELECT "state", "value" {CONDITIONS} AND ("rule" = \'lighting.on_while_closed\' OR "rule" = \'lighting.off_while_open\') AND $timeFilter'),
    ]),
    "building": dashboard("sitewarden-building", "Lifts, car park, comfort and energy", [
        timeseries("Lifts: in service, fault, trapped", role_query(["lift_in_service", "lift_fault", "lift_entrapment", "lift_alarm_button"], "last"),
                   description="1 = yes. lifts.lift_out_of_service_while_open, lift_fault, entrapment and alarm_button_doors_shut raise on these."),
        timeseries("Lift car position", role_query(["lift_floor"], "last"),
                   description="The floor the car is at: tell the person on the intercom where the car stopped."),
        timeseries("Lift trips since the last service", role_query(["lift_run_count"], "last"), "",
                   [(T["lifts.trips_service_due"], "orange")]),
        timeseries("Car park and perimeter fence", role_query(["barrier_fault", "plate_recognition_fault", "parking_guidance_fault", "fence_alarm", "fence_fault", "camera_online"], "max", ', "zone"'),
                   description="1 = fault or alarm (camera: 1 = online). The carpark rules raise on these."),
        timeseries("Room temperature", role_query(["room_temp"]), "celsius",
                   [(T["comfort.room_too_cold_while_open"], "green"), (T["comfort.room_too_warm_while_open"], "orange")],
                   base="blue", description="Comfort band while open (GB 50736-2012 level II): blue too cold, orange too warm."),
        timeseries("Room humidity", role_query(["room_humidity"]), "percent",
                   [(T["comfort.room_too_humid_while_open"], "orange")]),
        timeseries("CO2", role_query(["co2"]), "ppm", [(T["comfort.co2_high"], "orange")],
                   description="GB/T 18883-2022: 1,000 ppm."),
        timeseries("Light level", role_query(["illuminance"]), "lux", [(T["lighting.too_dark_while_open"], "green")],
                   base="orange", description="Orange below lighting.too_dark_while_open."),
        timeseries("Presence and smart plugs", role_query(["occupancy", "smart_plug_status"], "last"), description="1 = someone in / plug on; shown, not judged."),
        timeseries("Power drawn", role_query(["power"]), "watt"),
        timeseries("Energy used per interval", role_query(["energy"], "non_negative_difference(last"),
                   "kwatth", description="kWh each meter counted in each interval; comfort.energy_while_closed watches it while the site is closed."),
        table("Lift, car park and comfort conditions", f'SELECT "state", "value" {CONDITIONS} AND "rule" =~ /^(lifts|carpark|comfort)\\./ AND $timeFilter'),
    ]),
    "fire-security": dashboard("sitewarden-fire-security", "Fire and security", [
        timeseries("Fire zones in alarm", role_query(["fire_alarm"], "max", ', "zone"'), description="1 = alarm."),
        timeseries("Sprinkler pipe pressure", role_query(["sprinkler_pressure"]), "pressurebar",
                   [(T["fire.sprinkler_pressure_low_low"], "orange"), (T["fire.sprinkler_pressure_low"], "green")],
                   base="red", description="Red below fire.sprinkler_pressure_low_low, orange below sprinkler_pressure_low."),
        timeseries("Doors forced, held open, opened", role_query(["door_forced", "door_held_open", "door_open"], "max", ', "zone"')),
        table("Alarm timeline", f'SELECT "transition", "state", "value" {CONDITIONS} AND ("severity" = \'critical\' OR "rule" =~ /^(fire|security)\\./) AND $timeFilter'),
        timeseries("Time to acknowledge an alert", f'SELECT mean("ack_s") FROM "alert" WHERE {SITE} AND "event" = \'acknowledged\' AND $timeFilter GROUP BY time(1h), "class"', "s"),
        table("Alert timeline", f'SELECT "event", "id", "step", "drill" FROM "alert" WHERE {SITE} AND $timeFilter'),
        timeseries("Fire and emergency faults", role_query(["fire_fault", "fire_supervisory", "panel_fault", "emergency_button", "tamper"], "max")),
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


def main():
    out = ROOT / "dashboards"
    for name, body in DASHBOARDS.items():
        (out / f"{name}.json").write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(DASHBOARDS)} dashboards to {out}")


if __name__ == "__main__":
    main()
