# sitewarden 中文（简体）消息。
#
# 与 en.ftl 的消息 id 一一对应。现场可在自己的消息文件中改写任何一条
# （`[site] messages = "messages.ftl"`），`sitewarden check` 会检查它。
# 占位符写作 `{ $name }`；时间经 `DATETIME()` 显示为现场当地时间及时区偏移。

## 警报类别：通知开头的标签。

alert-class-fire = 火警
alert-class-intrusion = 入侵
alert-class-emergency_button = 紧急按钮
alert-class-equipment = 设备故障
alert-class-guard_safety = 保安人身安全
alert-class-drill = 演练

## 一条通知：每条消息一句，依次相接。

notify-headline = 【{ $tag }】{ $title }。
notify-where = 地点：{ $place }。
notify-when = 发生时间：{ DATETIME($raised) }（{ $site }）。
notify-step = 升级第 { $step } 步。
notify-repeat = 仍无人确认：再次执行第 { $step } 步。
notify-repeat-missed = 仍无人确认：再次执行第 { $step } 步（通知无法发出期间另有 { $missed } 次重复到期）。
notify-drill = 这是演练警报，仅发送给演练协调人。
notify-acknowledged = { $person } 已确认，升级已停止。
notify-acknowledged-by-someone = 有人
notify-calling = 正在通知：{ $people }。
notify-how-to-acknowledge = 确认警报 { $id }：由值班台确认（接口：POST /api/v1/alerts/{ $id }/ack；MQTT：签名的 `ack` 命令）。
notify-self-test = 【测试】sitewarden { $site }：本通知渠道的定期测试，无需处理。
notify-email-subject = 【{ $tag }】{ $title } — { $place }

# 句与句之间（中文不加空格）。
sentence-separator = {""}

## 地点与列表。

place-device-location = { $device }（{ $location }）
place-zones = { $place }，{ $zones } 防区
list-separator = 、

## 规则标题（英文原文见 config/standards/*.toml 的 description）。
## id 为 rule-<规则包>-<规则>；现场可在自己的消息文件中改写。

rule-fire-fire_alarm = 火灾报警
rule-fire-zone_fault = 火灾探测分区故障：该分区的探测可能失效
rule-fire-supervisory = 消防系统监视信号（阀门关闭、水泵停止）
rule-fire-sprinkler_pressure_low = 喷淋管网压力低：检查稳压泵和阀门
rule-fire-sprinkler_pressure_low_low = 喷淋管网几乎无水：系统无法灭火
rule-fire-panel_fault = 火灾报警控制器综合故障
rule-fire-panel_offline = 火灾报警控制器无响应：火警将无法被发现
rule-hvac-filter_dp_high = 空气过滤器堵塞：清洗或更换过滤器
rule-hvac-filter_dp_high_high = 过滤器压差远超限值：有滤网破裂和旁通的风险
rule-hvac-filter_service_due = 过滤器保养周期已到：检查并清洗过滤器
rule-hvac-cooling_not_holding = 压缩机运行但送风温度仍高：清洗冷凝器和蒸发器盘管，检查冷媒
rule-hvac-supply_air_rising_fast = 送风温度快速上升：制冷可能已失效
rule-hvac-fan_fault = 送风机故障
rule-hvac-compressor_fault = 压缩机故障
rule-hvac-running_while_closed = 闭馆期间空调仍在运行：浪费能源
rule-hvac-supply_air_stale = 5 分钟没有送风温度读数：传感器或控制器故障
rule-hvac-unit_offline = 空调机组控制器无响应
rule-lifts-lift_fault = 电梯故障
rule-lifts-lift_out_of_service_while_open = 营业时间内电梯停止服务
rule-lifts-barrier_fault = 停车场道闸或车牌识别故障
rule-lighting-on_while_closed = 闭馆期间照明仍开启：浪费能源
rule-lighting-off_while_open = 营业时间内照明关闭：检查回路及其时间表
rule-lighting-lamp_rated_life = 灯具超过额定寿命：请更换（耗电更多、亮度更低）
rule-lighting-lamp_fault = 灯具或驱动器故障
rule-lighting-panel_offline = 照明控制柜无响应：灯光无法按时间表运行
rule-security-door_forced = 门被强行打开
rule-security-door_held_open = 门开启时间过长
rule-security-door_open_after_hours = 闭馆期间门被打开
rule-security-emergency_button = 紧急按钮被按下
rule-security-tamper = 设备箱防拆开关打开
rule-security-controller_down = 门禁控制器报告自身离线
rule-security-camera_down = 监控摄像机离线
rule-security-controller_offline = 门禁控制器无响应
