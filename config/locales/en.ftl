# sitewarden's messages in English.
#
# Every text a person reads (notifications, titles, findings, reports) is a
# message here, with the same ids in every language file. A site changes
# any of them in its own file (`[site] messages = "messages.ftl"`), which
# `sitewarden check` validates. Placeholders are `{ $name }`; times go
# through `DATETIME()`, which shows the site's local time and offset.

## Alert classes: the tag in front of a notification.

alert-class-fire = FIRE
alert-class-intrusion = INTRUSION
alert-class-emergency_button = EMERGENCY BUTTON
alert-class-equipment = EQUIPMENT
alert-class-guard_safety = GUARD SAFETY
alert-class-medical = MEDICAL EMERGENCY
alert-class-water_leak = WATER LEAK
alert-class-power_failure = POWER FAILURE
alert-class-lift_entrapment = PEOPLE TRAPPED IN A LIFT
alert-class-patrol = PATROL
alert-class-other = EMERGENCY
alert-class-drill = DRILL

## A notification: one sentence per message, joined by spaces.

notify-headline = [{ $tag }] { $title }
# $place: the device's name, with its location and zones when known.
notify-where = Where: { $place }.
notify-when = Raised { DATETIME($raised) } at { $site }.
# $advice: the rule's advice, one or two sentences ending in a full stop.
notify-advice = What to do: { $advice }
notify-step = Escalation step { $step }.
notify-repeat = Still not acknowledged: step { $step } again.
notify-repeat-missed = Still not acknowledged: step { $step } again ({ $missed ->
        [one] one earlier repeat
       *[other] { $missed } earlier repeats
    } fell due while notifications could not go out).
notify-drill = This is a DRILL alarm, sent to the drill coordinator only.
notify-acknowledged = Acknowledged by { $person }; escalation stopped.
notify-acknowledged-by-someone = someone
notify-calling = Calling: { $people }.
notify-how-to-acknowledge = To acknowledge alert { $id }: the duty desk acknowledges it (API: POST /api/v1/alerts/{ $id }/ack; MQTT: a signed `ack` command).
# One line per person called, when the site has a public_url: their own link.
notify-ack-link = { $person }, tap to acknowledge: { $link }
notify-self-test = [TEST] sitewarden { $site }: scheduled test of this notification channel. No action needed.
# In front of a DingTalk text that holds none of the robot's keywords.
notify-keyword = [{ $keyword }]{" "}
# The e-mail subject: the headline and the place.
notify-email-subject = [{ $tag }] { $title } — { $place }

# Between the sentences of a notification.
sentence-separator = {" "}

## Places and lists.

place-device-location = { $device } ({ $location })
place-zones = { $place }, { $count ->
        [one] zone
       *[other] zones
    } { $zones }
# Between the items of a list of names or zones.
list-separator = {", "}

## Tickets: titles, descriptions and the notes in their history.

# A ticket from a condition: the device as people call it and the rule's title.
ticket-title = { $device }: { $rule }
ticket-where = Where: { $place }.
ticket-raised = Raised { DATETIME($raised) }.
ticket-reading = Reading { $value }.
ticket-reading-against = Reading { $value } against the threshold { $threshold }.
ticket-advice = What to do: { $advice }
ticket-preventive = Preventive maintenance `{ $schedule }`, due { DATETIME($due) }.
ticket-extinguisher-inspection = Monthly extinguisher and hose-reel inspection (GB 50444 5.2.1): { $count ->
        [one] one unit due
       *[other] { $count } units due
    }
ticket-extinguisher-service = Send extinguisher { $unit } ({ $location }) for service, due { $due } (GB 50444 5.3.2)
ticket-extinguisher-replace = Replace extinguisher { $unit } ({ $location }): scrap date { $due } (GB 50444 5.4.3)
extinguisher-item = { $unit } · { $location } · { $kind } { $capacity } · due { $due }
extinguisher-kind-water_based = water-based
extinguisher-kind-dry_powder = dry powder
extinguisher-kind-clean_agent = clean agent
extinguisher-kind-carbon_dioxide = CO2
extinguisher-kind-hose_reel = hose reel
extinguisher-report-heading = Extinguishers and hose reels: monthly inspection, workshop service, scrap date (GB 50444-2008 chapter 5)
extinguisher-report-line = { $unit } · { $location } · { $kind } { $capacity } · inspection { $due } { $inspection } · service { $service_due } { $service } · scrap { $expires } { $replacement }
extinguisher-standing-ok = ok
extinguisher-standing-due = DUE
extinguisher-standing-overdue = OVERDUE
check-test-evidence = Zone test { $test } (zones { $zones }): { $count ->
        [0] no alarm answered
       *[other] { $count } answered: { $answered }
    }
check-test-answered = zone { $zone } at { $at }
ticket-note-reading = reading { $value }
ticket-note-reading-against = reading { $value } against the threshold { $threshold }
ticket-note-cleared = condition cleared at { $value }
ticket-note-dispatched = to { $assignee }
ticket-note-dispatched-with-note = to { $assignee }: { $note }
ticket-channel-self-test-failed = Alert channel `{ $channel }` failed its self-test
ticket-channel-self-test-failed-description = The scheduled test notification could not be delivered: { $error }. Until this is fixed, alerts routed through `{ $channel }` do not reach anyone.
ticket-channel-refuses = Alert channel `{ $channel }` refuses notifications
ticket-channel-refuses-description = The receiver refused a notification and waiting will not help: { $error }. Until this is fixed, alerts routed through `{ $channel }` do not reach anyone.
ticket-database-corrupt = Database `{ $database }` was corrupt and was replaced by an empty one
ticket-database-corrupt-description = At start the database failed its check ({ $reason }). It was moved to { $moved_to } and sitewarden started with an empty one: what it held (history, open items) is not shown until the file is inspected or restored. Check the disk.
ticket-station-queue-full = Checkpoint station { $station } refuses taps: its record queue is full
ticket-station-queue-full-description = The station keeps every record until the daemon confirms it; check its RS-485 line and gateway.

## Alerts about sitewarden itself.

alert-delivery-fault = NOT DELIVERED: no channel confirmed alert { $id } within { $seconds } s: { $title }
alert-database-corrupt = Database { $database } was corrupt; moved to { $moved_to }, started empty
alert-disk-full = Disk full: { $free } free on the data directory { $dir }; history and buffers may stop growing

## An alert's history: what happened to it, step by step.

alert-event-raised-again = { $point } raised again
alert-event-raised-reading = { $member }; first reading { $value }
alert-event-member-zone = { $point } (zone { $zone })
alert-event-drill = during drill { $drill }: only the drill coordinator is told
# $kind: silenced, muted or inhibited; $by: the silence or alert that holds it.
alert-event-suppressed = { $kind } by { $by }: nobody is called
alert-event-cleared-stays-open = the condition cleared; a life-safety alert stays open until someone acknowledges it
alert-event-unrouted = no escalation policy for class { $class }
alert-event-no-acknowledgement = no acknowledgement: step { $steps }
alert-event-reason-step = step { $step }
alert-event-reason-repeat = step { $step } again
alert-event-reason-repeat-missed = step { $step } again, { $missed ->
        [one] one missed repeat
       *[other] { $missed } missed repeats
    } folded in
alert-event-reason-drill = drill
alert-event-reason-acknowledged = acknowledged
alert-event-reason-self_test = self-test
alert-event-nobody = nobody
alert-event-notified = { $reason } via { $channels } to { $people }
alert-event-notified-vacant = { $notified }; nobody on duty for { $roles }
alert-event-drill-unrouted = no [alerts.drill] coordinator configured: recorded only
alert-event-acknowledged = { $person } took it
alert-event-acknowledged-note = { $person } took it: { $note }
alert-event-resolved-on-acknowledgement = acknowledged; nothing else would clear it
alert-event-resolved-after-clearing = acknowledged after its condition cleared
alert-event-muted = muted while { $class } alert { $source } is active
alert-event-unmuted = alert { $source } is over and this is still active
alert-event-resolved-while-muted = cleared while muted
alert-event-unsilenced = { $silence } ended and this is still active
alert-event-resolved-while-silenced = cleared while silenced

## Patrol findings. $station is the checkpoint as people call it (with its location).

patrol-missed = Missed checkpoint { $station } on patrol route { $route }
patrol-lone-worker = Guard { $guard } on route { $route } has not reached { $station }: check on them
patrol-forged = Forged patrol record at checkpoint { $station }
patrol-replayed = Replayed patrol record at checkpoint { $station }
patrol-unknown-badge = Unknown badge at checkpoint { $station }
patrol-tap-unknown-badge = the badge belongs to no guard
patrol-tap-other-checkpoint = the record is of checkpoint { $checkpoint }
patrol-tap-forged = does not verify with station { $station }'s key: { $why }
patrol-tap-replayed = sequence number at or below the last accepted, { $last }

## The console's status lines.

console-live-heading = ── live readings, { DATETIME($now) } ──
console-device-online = online
console-device-offline = OFFLINE
console-device-waiting = waiting
console-device-on = on: { $points }
console-device-points = [{ $count ->
        [one] one point
       *[other] { $count } points
    }, { $bad } bad]
console-conditions-heading = ── conditions ──
console-no-conditions = no conditions
console-faults-heading = ── faults ──
console-fault-stage-down = STAGE DOWN: { $stages }
console-fault-disk-full = DISK FULL: { $free } MiB free on the data directory
console-fault-delivery = DELIVERY FAULT: { $count ->
        [one] one life-safety alert
       *[other] { $count } life-safety alerts
    } no channel confirmed in time
console-fault-buzzer = BUZZER ON until someone acknowledges the delivery fault

## Words for states and severities, as people read them.

condition-state-pending = pending
condition-state-active = ACTIVE
condition-state-clearing = clearing
condition-state-normal = normal
severity-info = info
severity-minor = minor
severity-major = major
severity-critical = CRITICAL

## The monthly repair report (`GET /api/v1/reports/tickets?month=…&format=text`).

report-title = Repair report { $month }, { $site }
report-period = From { DATETIME($from) } to { DATETIME($to) }
report-total = Requests registered: { $count }
report-by-category = By kind: { $list }
report-by-priority = By priority: { $list }
report-by-origin = By origin: { $list }
report-by-status = By state now: { $list }
report-by-channel = By how it came: { $list }
report-reworks = Sent back for rework: { $reworks }; cancelled: { $cancelled }
# One label and its count, in the lists above.
report-count = { $label } { $count }
report-response = Response (registered to started): { $count } tickets, mean { $mean } min, 90th percentile { $p90 } min
report-resolution = Resolution (registered to resolved): { $count } tickets, mean { $mean } min, 90th percentile { $p90 } min
report-breaches = Targets missed: { $response } response, { $resolution } resolution, on { $tickets ->
        [one] one ticket
       *[other] { $tickets } tickets
    }
report-recurring-heading = Faults that keep coming back:
report-recurring = - { $device }: { $rule } ({ $occurrences } times, { $tickets ->
        [one] one ticket
       *[other] { $tickets } tickets
    })
report-none = none
category-repair = repair
category-warranty = warranty
category-inquiry = inquiry
priority-p1 = P1
priority-p2 = P2
priority-p3 = P3
priority-p4 = P4
origin-condition = raised by a condition
origin-manual = called in
origin-preventive = preventive
origin-self_test = sitewarden itself
origin-patrol = a patrol finding
status-registered = registered
status-dispatched = dispatched
status-in_progress = in progress
status-resolved = resolved
status-accepted = accepted
status-archived = archived
status-on_hold = on hold
status-cancelled = cancelled

## The page an acknowledgement link opens on a phone.

page-ack-for = Acknowledging as { $person }.
page-ack-note = Note (optional)
page-ack-button = I'm on it
page-ack-done = Acknowledged by { $person }: escalation stopped.
page-ack-used = This link has already been used.
page-ack-already = Someone acknowledged this alert first.
page-ack-already-by = Already acknowledged by { $person }.
page-ack-resolved = This alert is over.
page-ack-expired = This link has expired: ask the duty desk.
page-ack-forged = This is not a valid acknowledgement link.
page-ack-try-again = The alert store is busy: try again in a moment.

## The duty console's alarms board (`/`).

board-title = Alarms, { $site }
board-sound-on = Sound on
board-unavailable = The alert store cannot be read just now.
board-no-alarms = No open alarms.
board-raised = Since { DATETIME($raised) }
board-step = Escalation step { $step }
board-acknowledged = Taken by { $person }
board-not-acknowledged = Nobody has acknowledged yet
board-acknowledge = Acknowledge
drills-title = Fire drills
console-refused = Not done: this step was refused.
drills-declared = Drill from { DATETIME($from) } to { DATETIME($to) }, declared by { $person }
drills-starts-in = Starts in (minutes)
drills-lasts = Lasts (minutes)
drills-note = What it is
drills-declare = Declare a drill
signin-title = Sign in, { $site }
signin-person = Your id
signin-password = Password
signin-button = Sign in
signin-wrong = Wrong id or password.
signin-throttled = Too many failed attempts: wait five minutes.
signin-as = Signed in as { $person }
signin-out = Sign out
signin-link = Sign in

## The duty console's repairs page (`/repairs`).

nav-alarms = Alarms
nav-repairs = Repairs
repairs-title = Repairs, { $site }
repairs-register = Register a request taken by phone
repairs-requester = Who asked
repairs-contact = Phone or e-mail
repairs-location = Where
repairs-what = What is wrong
repairs-description = Details
repairs-category = Kind
repairs-urgency = Urgency
repairs-register-button = Register
repairs-asked-by = Asked by { $person } ({ $contact })
repairs-assignee = Technician: { $person }
repairs-assignee-placeholder = technician's id
repairs-late = Service level missed
repairs-due = To be fixed by { DATETIME($due) }
action-dispatch = Dispatch
action-start = Start
action-resolve = Resolved
action-accept = Accept
action-reject = Reject
action-archive = Archive
action-hold = On hold
action-resume = Resume
action-cancel = Cancel
repairs-on-hold = On hold since { DATETIME($since) }: { $reason }
repairs-reason-placeholder = why (required)

## The duty console's other pages (`/patrols`, `/equipment`), the planning
## panels of the alarms page and the monthly report on `/repairs`.

nav-patrols = Patrols
nav-equipment = Equipment
console-refused-title = Not done, { $site }
drills-end = End the drill
silences-title = Silences (maintenance)
silences-none = No silences.
silences-one = { $device } { $rule } silenced until { DATETIME($to) }: { $reason } ({ $person })
silences-end = End now
silences-device = Device
silences-reason = Why (the work being done)
silences-add = Silence for maintenance
repairs-report = Monthly report for
repairs-report-button = Show the report
report-bad-month = The month must be given as YYYY-MM.
equipment-title = Equipment, { $site }
equipment-online = Online since { DATETIME($since) }
equipment-offline = OFFLINE since { DATETIME($since) }: { $reason }
equipment-waiting = Not polled yet
equipment-dashboard = Trends in Grafana
equipment-number = { $value } { $unit }
equipment-on = on
equipment-off = off
equipment-good = good
equipment-no-reading = no reading yet
bad-reason-exception = the device refused the request
bad-reason-timeout = no answer
bad-reason-transport = connection lost
bad-reason-malformed = garbled answer
bad-reason-not_finite = not a number
bad-reason-flooding = too many messages
patrols-title = Patrols, { $site }
patrols-rounds = Today's rounds
patrols-no-rounds = No rounds today yet.
patrols-round = Route { $route }, round of { DATETIME($start) }
patrols-guard = Walked by { $guard }
patrols-no-guard = Nobody has tapped yet
patrols-completion = { $percent } % of checkpoints reached
patrols-checkpoint = Checkpoint
patrols-planned = Planned
patrols-tapped = Tapped
patrols-verdict = Verdict
patrols-time = { TIME($at) }
patrols-verdict-on_time = on time
patrols-verdict-late = late
patrols-verdict-early = early
patrols-verdict-out_of_order = OUT OF ORDER
patrols-verdict-too_fast = too fast
patrols-verdict-missed = MISSED
patrols-verdict-waiting = due
patrols-alerts = Today's patrol alerts
patrols-no-alerts = No patrol alerts today.
patrols-alert = { DATETIME($raised) }: { $title }
patrols-refused = Taps refused today
patrols-no-refused = No taps refused today.
patrols-refused-tap = { DATETIME($at) } at { $station }: { $verdict }
patrols-tap-unknown_badge = unknown badge
patrols-tap-forged = FORGED record
patrols-tap-replayed = REPLAYED record

## One alarm on the duty console (`/console/alarms/{id}`).

alarm-page-title = Alarm, { $site }
alarm-page-unknown = There is no alarm { $id }.
alarm-page-timeline = Timeline
timeline-raised = raised
timeline-reactivated = raised again
timeline-member_raised = another point raised
timeline-member_cleared = a point cleared
timeline-drill = drill
timeline-silenced = silenced
timeline-unsilenced = silence over
timeline-muted = muted
timeline-unmuted = no longer muted
timeline-unrouted = no escalation policy
timeline-notified = called
timeline-escalated = escalated
timeline-repeated = called again
timeline-acknowledged = acknowledged
timeline-cleared = condition cleared
timeline-resolved = resolved

## The request form and reworks (issue 19).

channel-phone = phone
channel-email = e-mail
channel-desk = front desk
channel-wecom = WeCom
channel-condition = condition
repairs-channel = How it came
repairs-cause = Cause (as the requester says)
repairs-reported-at = Reported at (empty: now)
repairs-bad-time = The time reported is not a date and time.
repairs-reported = Reported by { $channel } at { DATETIME($at) }
repairs-cause-was = Cause: { $cause }
repairs-reworks = Sent back for rework { $count ->
    [one] once
   *[other] { $count } times
}

## The return visit (issue 19).

action-visit = Return visit done
repairs-visits = Return visits
repairs-visit-due = Return visit due { DATETIME($due) }
repairs-visit-placeholder = what the requester said (required)
repairs-score = { $score ->
    [5] 5 — very satisfied
    [4] 4 — satisfied
    [3] 3 — neither
    [2] 2 — dissatisfied
   *[other] { $score } — very dissatisfied
}
report-satisfaction = Return visits: { $done } of { $scheduled } done; satisfaction { $count ->
    [0] not scored
   *[other] mean { $mean } of 5 over { $count }, { $low } below 3
}
report-requests-heading = Requests that keep coming back:
report-request = - { $place }: { $category } ({ $requests } requests)

## Telling a technician a repair is theirs (`[tickets] notify`).

ticket-dispatched-to = Repair #{ $id } is yours, { $person }: { $title } ({ $priority }).
ticket-dispatched-requester = Asked by { $person }, { $contact }.
ticket-dispatched-due = To be fixed by { DATETIME($due) }.
ticket-dispatched-link = The repair board: { $link }
ticket-dispatched-subject = Repair #{ $id } for you: { $title }

## Telling the requester (`[tickets] tell_requesters`).

requester-registered = Your request #{ $id } ({ $title }) is registered at { $site }. We will send someone and tell you when they are on the way.
requester-registered-subject = { $site }: request #{ $id } registered
requester-on-the-way = A technician is on the way for your request #{ $id } ({ $title }), { $site }.
requester-on-the-way-subject = { $site }: request #{ $id }, a technician is on the way
requester-ready = Your request #{ $id } ({ $title }) has been repaired. Please tell { $site } whether you accept the repair.
requester-ready-subject = { $site }: request #{ $id } repaired, please check
repairs-unavailable = The ticket store cannot be read just now.

## The requester's acceptance link and the front desk's reminder.
requester-ready-link = Accept the repair, or tell us what is still wrong, here: { $link }
ticket-acceptance-overdue = Repair #{ $id } ({ $title }) was finished { DATETIME($resolved) } and still waits for the requester's acceptance.
ticket-acceptance-call = Please call { $person }, { $contact }.
ticket-acceptance-overdue-subject = Repair #{ $id } waits for acceptance: { $title }
ticket-note-accepted-by-default = The requester did not answer in time: accepted by default.
page-accept-title = Repair #{ $id }: { $title }
page-accept-done-at = Finished { DATETIME($resolved) }.
page-accept-question = Is it fixed to your satisfaction?
page-accept-score = How satisfied are you? (1 = not at all, 5 = very)
page-accept-score-none = (no answer)
page-accept-note = What is still wrong? (needed to send it back)
page-accept-yes = Yes, I accept the repair
page-accept-no = No, send it back
page-accept-accepted = Thank you: the repair is accepted.
page-accept-rejected = Thank you: the repair goes back to a technician.
page-accept-needs-note = Please say what is still wrong, so the technician knows what to look at.
page-accept-used = This link has already been used.
page-accept-not-waiting = This repair is not waiting for your answer any more.
page-accept-expired = This link has expired: please call the front desk.
page-accept-forged = This is not a valid link.
page-accept-try-again = The repair desk is busy: try again in a moment.

## Checklists on preventive tickets.
ticket-check-pass = { $item }: passed.
ticket-check-fail = { $item }: FAILED.
ticket-check-value = { $item }: { $value }.
ticket-check-failed-title = { $item } failed in: { $title }
report-accepted-via = Accepted: { $list }
report-acceptance-wait = Waiting for acceptance (repaired to accepted): { $count } tickets, mean { $mean } min, 90th percentile { $p90 } min
accepted-via-link = by the requester's link
accepted-via-staff = recorded by staff
accepted-via-default = by default
repairs-from-check = Opened by a failed check on #{ $id }
repairs-waiting-acceptance = Waiting for the requester's acceptance since { DATETIME($since) }
repairs-acceptance-reminded = The front desk was reminded: call the requester.
repairs-check-note = What did you find?
repairs-check-opened = (repair #{ $id } opened)
check-result-pass = Pass
check-result-fail = Fail
check-result-value = Reading
check-result-open = not checked yet
repairs-photo = Photo { $id }
repairs-add-photo = Add a photo
repairs-send-photo = Send

## Emergencies reported by a person.
alert-reported-title = { $class } reported: { $place }
alert-event-reported = Reported by { $reporter }.
alert-event-reported-note = Reported by { $reporter }: { $note }
alert-event-outside-silence = { $member } is outside { $silence }: people are called.
alert-class-duty = DUTY
duty-missing-title = Nobody checked in: { $person }'s { $role } shift from { DATETIME($start) }
alert-event-checked-in = { $person } checked in.
notify-plan-overdue = Response plan step { $step } is overdue: { $what }.
alert-event-plan-step = Step { $step } done: { $what }
alert-event-plan-step-note = Step { $step } done: { $what } ({ $note })
alert-event-plan-overdue = Step { $step } is overdue: { $what }
patrol-finding-title = { $item }: not ok at { $place }
patrol-finding-on-round = { $note } (found on patrol round #{ $round })
alarm-page-plan = Response plan
alarm-page-plan-done = done { DATETIME($at) } by { $person }
alarm-page-plan-due = due { DATETIME($due) }
alarm-page-plan-mark = Done
timeline-reported = reported
timeline-plan_step = plan step done
timeline-plan_overdue = plan step overdue
report-emergency-title = Report an emergency
report-emergency-class = What
report-emergency-location = Where
report-emergency-reporter = Who reported it
report-emergency-note = What they said
report-emergency-button = Raise the alarm
check-in-title = Shift check-in
check-in-note = Handover note
check-in-button = Check in for my shift
