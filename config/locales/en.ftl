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
alert-class-drill = DRILL

## A notification: one sentence per message, joined by spaces.

notify-headline = [{ $tag }] { $title }
# $place: the device's name, with its location and zones when known.
notify-where = Where: { $place }.
notify-when = Raised { DATETIME($raised) } at { $site }.
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
notify-self-test = [TEST] sitewarden { $site }: scheduled test of this notification channel. No action needed.
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
