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
alert-class-medical = 急救
alert-class-water_leak = 漏水
alert-class-power_failure = 停电
alert-class-lift_entrapment = 电梯困人
alert-class-patrol = 巡更
alert-class-other = 紧急情况
alert-class-drill = 演练

## 一条通知：每条消息一句，依次相接。

notify-headline = 【{ $tag }】{ $title }。
notify-where = 地点：{ $place }。
notify-when = 发生时间：{ DATETIME($raised) }（{ $site }）。
notify-advice = 处理：{ $advice }
notify-step = 升级第 { $step } 步。
notify-repeat = 仍无人确认：再次执行第 { $step } 步。
notify-repeat-missed = 仍无人确认：再次执行第 { $step } 步（通知无法发出期间另有 { $missed } 次重复到期）。
notify-drill = 这是演练警报，仅发送给演练协调人。
notify-acknowledged = { $person } 已确认，升级已停止。
notify-acknowledged-by-someone = 有人
notify-calling = 正在通知：{ $people }。
notify-how-to-acknowledge = 确认警报 { $id }：由值班台确认（接口：POST /api/v1/alerts/{ $id }/ack；MQTT：签名的 `ack` 命令）。
notify-ack-link = { $person }，点击确认：{ $link }
notify-self-test = 【测试】sitewarden { $site }：本通知渠道的定期测试，无需处理。
notify-keyword = 【{ $keyword }】
notify-email-subject = 【{ $tag }】{ $title } — { $place }

# 句与句之间（中文不加空格）。
sentence-separator = {""}

## 地点与列表。

place-device-location = { $device }（{ $location }）
place-zones = { $place }，{ $zones } 防区
list-separator = 、

## 工单：标题、描述和处理记录中的备注。

ticket-title = { $device }：{ $rule }
ticket-where = 地点：{ $place }。
ticket-raised = 发生时间：{ DATETIME($raised) }。
ticket-reading = 读数 { $value }。
ticket-reading-against = 读数 { $value }，限值 { $threshold }。
ticket-advice = 处理：{ $advice }
ticket-preventive = 预防性维护 `{ $schedule }`，到期时间 { DATETIME($due) }。
ticket-extinguisher-inspection = 灭火器及消防软管卷盘月度检查（GB 50444 5.2.1）：{ $count } 具到期
ticket-extinguisher-service = 灭火器 { $unit }（{ $location }）送修，到期 { $due }（GB 50444 5.3.2）
ticket-extinguisher-replace = 更换灭火器 { $unit }（{ $location }）：报废日期 { $due }（GB 50444 5.4.3）
extinguisher-item = { $unit } · { $location } · { $kind } { $capacity } · { $due } 到期
extinguisher-kind-water_based = 水基型
extinguisher-kind-dry_powder = 干粉
extinguisher-kind-clean_agent = 洁净气体
extinguisher-kind-carbon_dioxide = 二氧化碳
extinguisher-kind-hose_reel = 消防软管卷盘
extinguisher-report-heading = 灭火器及消防软管卷盘：月度检查、送修、报废日期（GB 50444-2008 第 5 章）
extinguisher-report-line = { $unit } · { $location } · { $kind } { $capacity } · 检查 { $due } { $inspection } · 送修 { $service_due } { $service } · 报废 { $expires } { $replacement }
extinguisher-standing-ok = 正常
extinguisher-standing-due = 到期
extinguisher-standing-overdue = 逾期
check-test-evidence = 区域测试 { $test }（防区 { $zones }）：{ $count } 个报警响应：{ $answered }
check-test-answered = 防区 { $zone } 于 { $at }
ticket-note-reading = 读数 { $value }
ticket-note-reading-against = 读数 { $value }，限值 { $threshold }
ticket-note-cleared = 状况已恢复，读数 { $value }
ticket-note-dispatched = 派给 { $assignee }
ticket-note-dispatched-with-note = 派给 { $assignee }：{ $note }
ticket-channel-self-test-failed = 警报渠道 `{ $channel }` 定期测试失败
ticket-channel-self-test-failed-description = 定期测试通知无法送达：{ $error }。修复前，经 `{ $channel }` 发送的警报无人收到。
ticket-channel-refuses = 警报渠道 `{ $channel }` 拒收通知
ticket-channel-refuses-description = 接收方拒收了一条通知，等待也无济于事：{ $error }。修复前，经 `{ $channel }` 发送的警报无人收到。
ticket-database-corrupt = 数据库 `{ $database }` 已损坏，已换用空数据库
ticket-database-corrupt-description = 启动时该数据库未通过检查（{ $reason }）。原文件已移至 { $moved_to }，sitewarden 已使用空数据库启动：在检查或恢复该文件之前，其中的内容（历史、未完成事项）不会显示。请检查磁盘。
ticket-station-queue-full = 巡更点 { $station } 拒绝打卡：记录队列已满
ticket-station-queue-full-description = 巡更点会保存每条记录直到守护进程确认；请检查其 RS-485 线路和网关。

## 关于 sitewarden 自身的警报。

alert-delivery-fault = 未送达：警报 { $id } 在 { $seconds } 秒内没有任何渠道确认送达：{ $title }
alert-database-corrupt = 数据库 { $database } 已损坏；已移至 { $moved_to }，以空数据库启动
alert-disk-full = 磁盘已满：数据目录 { $dir } 仅剩 { $free }；历史和缓冲可能无法继续写入

## 警报处理记录：逐步记录发生了什么。

alert-event-raised-again = { $point } 再次触发
alert-event-raised-reading = { $member }；首个读数 { $value }
alert-event-member-zone = { $point }（{ $zone } 防区）
alert-event-drill = 演练 { $drill } 期间：仅通知演练协调人
alert-event-suppressed = 已被 { $by } { $kind }：不通知任何人
alert-event-cleared-stays-open = 状况已恢复；生命安全警报在有人确认前保持未关闭
alert-event-unrouted = 类别 { $class } 没有升级策略
alert-event-no-acknowledgement = 无人确认：执行第 { $steps } 步
alert-event-reason-step = 第 { $step } 步
alert-event-reason-repeat = 再次执行第 { $step } 步
alert-event-reason-repeat-missed = 再次执行第 { $step } 步，合并了 { $missed } 次错过的重复
alert-event-reason-drill = 演练
alert-event-reason-acknowledged = 已确认
alert-event-reason-self_test = 自检
alert-event-nobody = 无人
alert-event-notified = { $reason }：经 { $channels } 通知 { $people }
alert-event-notified-vacant = { $notified }；{ $roles } 无人值班
alert-event-drill-unrouted = 未配置 [alerts.drill] 演练协调人：仅作记录
alert-event-acknowledged = { $person } 已接手
alert-event-acknowledged-note = { $person } 已接手：{ $note }
alert-event-resolved-on-acknowledgement = 已确认；没有其他方式能解除
alert-event-resolved-after-clearing = 状况恢复后已确认
alert-event-muted = { $class } 警报 { $source } 生效期间静默
alert-event-unmuted = 警报 { $source } 已结束而本警报仍生效
alert-event-resolved-while-muted = 静默期间已恢复
alert-event-unsilenced = { $silence } 已结束而本警报仍生效
alert-event-resolved-while-silenced = 屏蔽期间已恢复

## 巡更结果。$station 为巡更点名称（含位置）。

patrol-missed = 巡更路线 { $route } 漏巡巡更点 { $station }
patrol-lone-worker = 路线 { $route } 上的保安 { $guard } 未按时到达 { $station }：请立即联系确认其安全
patrol-forged = 巡更点 { $station } 收到伪造的巡更记录
patrol-replayed = 巡更点 { $station } 收到重放的巡更记录
patrol-unknown-badge = 巡更点 { $station } 出现未登记的卡
patrol-tap-unknown-badge = 该卡不属于任何保安
patrol-tap-other-checkpoint = 该记录属于巡更点 { $checkpoint }
patrol-tap-forged = 无法用巡更点 { $station } 的密钥验证：{ $why }
patrol-tap-replayed = 序号不大于上次接受的序号 { $last }

## 控制台状态行。

console-live-heading = ── 实时读数，{ DATETIME($now) } ──
console-device-online = 在线
console-device-offline = 离线
console-device-waiting = 等待
console-device-on = 开：{ $points }
console-device-points = [{ $count } 个点，{ $bad } 个异常]
console-conditions-heading = ── 状况 ──
console-no-conditions = 无状况
console-faults-heading = ── 故障 ──
console-fault-stage-down = 处理环节停止：{ $stages }
console-fault-disk-full = 磁盘已满：数据目录仅剩 { $free } MiB
console-fault-delivery = 送达故障：{ $count } 条生命安全警报未在规定时间内被任何渠道确认送达
console-fault-buzzer = 蜂鸣器鸣响，直到有人确认送达故障

## 状态和严重程度的称呼。

condition-state-pending = 待定
condition-state-active = 生效
condition-state-clearing = 恢复中
condition-state-normal = 正常
severity-info = 提示
severity-minor = 次要
severity-major = 重要
severity-critical = 紧急

## 月度维修报表（`GET /api/v1/reports/tickets?month=…&format=text`）。

report-title = 维修月报 { $month }，{ $site }
report-period = 自 { DATETIME($from) } 至 { DATETIME($to) }
report-total = 登记报修：{ $count } 单
report-by-category = 按类别：{ $list }
report-by-priority = 按优先级：{ $list }
report-by-origin = 按来源：{ $list }
report-by-status = 按当前状态：{ $list }
report-by-channel = 按报修方式：{ $list }
report-reworks = 退回返工：{ $reworks } 次；已取消：{ $cancelled }
report-count = { $label } { $count }
report-response = 响应（登记到开始处理）：{ $count } 单，平均 { $mean } 分钟，90% 在 { $p90 } 分钟内
report-resolution = 解决（登记到修复）：{ $count } 单，平均 { $mean } 分钟，90% 在 { $p90 } 分钟内
report-breaches = 超时：响应 { $response } 次，解决 { $resolution } 次，涉及 { $tickets } 单
report-recurring-heading = 反复出现的故障：
report-recurring = - { $device }：{ $rule }（{ $occurrences } 次，{ $tickets } 单）
report-none = 无
category-repair = 维修
category-warranty = 保修
category-inquiry = 咨询
priority-p1 = P1
priority-p2 = P2
priority-p3 = P3
priority-p4 = P4
origin-condition = 设备状况触发
origin-manual = 来电报修
origin-preventive = 预防性维护
origin-self_test = sitewarden 自身
origin-patrol = 巡检发现
status-registered = 已登记
status-dispatched = 已派工
status-in_progress = 处理中
status-resolved = 已修复
status-accepted = 已验收
status-archived = 已归档
status-on_hold = 暂停
status-cancelled = 已取消

## 手机上打开确认链接看到的页面。

page-ack-for = 以 { $person } 的身份确认。
page-ack-note = 备注（可选）
page-ack-button = 我来处理
page-ack-done = { $person } 已确认：升级已停止。
page-ack-used = 此链接已被使用。
page-ack-already = 已有其他人先确认了此警报。
page-ack-already-by = 已由 { $person } 确认。
page-ack-resolved = 此警报已结束。
page-ack-expired = 此链接已过期，请联系值班台。
page-ack-forged = 这不是有效的确认链接。
page-ack-try-again = 警报存储繁忙，请稍后再试。

## 值班台的警报看板（`/`）。

board-title = 警报，{ $site }
board-sound-on = 开启声音
board-unavailable = 暂时无法读取警报存储。
board-no-alarms = 没有未关闭的警报。
board-raised = 发生于 { DATETIME($raised) }
board-step = 升级第 { $step } 步
board-acknowledged = 由 { $person } 接手
board-not-acknowledged = 尚无人确认
board-acknowledge = 确认
drills-title = 消防演练
console-refused = 未执行：此操作被拒绝。
drills-declared = 演练时间 { DATETIME($from) } 至 { DATETIME($to) }，由 { $person } 宣布
drills-starts-in = 几分钟后开始
drills-lasts = 持续（分钟）
drills-note = 演练说明
drills-declare = 宣布演练
signin-title = 登录，{ $site }
signin-person = 您的编号
signin-password = 密码
signin-button = 登录
signin-wrong = 编号或密码错误。
signin-throttled = 失败次数过多，请五分钟后再试。
signin-as = 当前用户：{ $person }
signin-out = 退出
signin-link = 登录

## 值班台的维修页面（`/repairs`）。

nav-alarms = 警报
nav-repairs = 维修
repairs-title = 维修，{ $site }
repairs-register = 登记电话报修
repairs-requester = 报修人
repairs-contact = 电话或邮箱
repairs-location = 地点
repairs-what = 故障内容
repairs-description = 详细说明
repairs-category = 类别
repairs-urgency = 紧急程度
repairs-register-button = 登记
repairs-asked-by = 报修人：{ $person }（{ $contact }）
repairs-assignee = 维修人员：{ $person }
repairs-assignee-placeholder = 维修人员编号
repairs-late = 已超出服务时限
repairs-due = 应于 { DATETIME($due) } 前修复
action-dispatch = 派工
action-start = 开始处理
action-resolve = 已修复
action-accept = 验收
action-reject = 退回
action-archive = 归档
action-hold = 暂停
action-resume = 继续
action-cancel = 取消
repairs-on-hold = 自 { DATETIME($since) } 起暂停：{ $reason }
repairs-reason-placeholder = 原因（必填）

## 规则标题（英文原文见 config/standards/*.toml 的 description）。
## id 为 rule-<规则包>-<规则>；现场可在自己的消息文件中改写。

rule-fire-fire_alarm = 火灾报警
rule-fire-fire_alarm-advice = 立即赶到报警区域核实；确认有火或烟时拨打 119，组织疏散，在安全的前提下使用最近的灭火器。
rule-fire-zone_fault = 火灾探测分区故障：该分区的探测可能失效
rule-fire-zone_fault-advice = 在控制器上检查该回路的线路和探测器；修复前加密该区域的巡查。
rule-fire-supervisory = 消防系统监视信号（阀门关闭、水泵停止）
rule-fire-supervisory-advice = 按控制器显示找到关闭的阀门或停止的水泵并恢复正常；查明是谁关闭的。
rule-fire-sprinkler_pressure_low = 喷淋管网压力低：检查稳压泵和阀门
rule-fire-sprinkler_pressure_low-advice = 检查稳压泵和喷淋立管上的阀门；压力不能恢复时通知消防维保单位。
rule-fire-sprinkler_pressure_low_low = 喷淋管网几乎无水：系统无法灭火
rule-fire-sprinkler_pressure_low_low-advice = 立即通知消防维保单位和值班经理：修复前喷淋系统可能无法灭火。
rule-fire-panel_fault = 火灾报警控制器综合故障
rule-fire-panel_fault-advice = 读取控制器显示的故障并登记；故障不能消除时通知消防维保单位。
rule-fire-panel_offline = 火灾报警控制器无响应：火警将无法被发现
rule-fire-panel_offline-advice = 检查控制器电源和网络连接；恢复通信前由消防控制室人员现场值守控制器。
rule-hvac-filter_dp_high = 空气过滤器堵塞：清洗或更换过滤器
rule-hvac-filter_dp_high-advice = 下次巡检时清洗或更换空气过滤器。
rule-hvac-filter_dp_high_high = 过滤器压差远超限值：有滤网破裂和旁通的风险
rule-hvac-filter_dp_high_high-advice = 今天内更换过滤器：滤网破裂会让灰尘进入盘管和风管。
rule-hvac-filter_service_due = 过滤器保养周期已到：检查并清洗过滤器
rule-hvac-filter_service_due-advice = 检查并清洗过滤器，然后将运行小时计数清零。
rule-hvac-cooling_not_holding = 压缩机运行但送风温度仍高：清洗冷凝器和蒸发器盘管，检查冷媒
rule-hvac-cooling_not_holding-advice = 清洗冷凝器和蒸发器盘管，检查冷媒充注量。
rule-hvac-supply_air_rising_fast = 送风温度快速上升：制冷可能已失效
rule-hvac-supply_air_rising_fast-advice = 立即检查压缩机和冷冻水供应。
rule-hvac-fan_fault = 送风机故障
rule-hvac-fan_fault-advice = 检查风机电机、皮带和过载继电器。
rule-hvac-compressor_fault = 压缩机故障
rule-hvac-compressor_fault-advice = 检查压缩机保护继电器和故障代码；再次跳闸时通知空调维保单位。
rule-hvac-running_while_closed = 闭馆期间空调仍在运行：浪费能源
rule-hvac-running_while_closed-advice = 关闭机组并检查其运行时间表。
rule-hvac-supply_air_stale = 5 分钟没有送风温度读数：传感器或控制器故障
rule-hvac-supply_air_stale-advice = 检查送风温度传感器和机组控制器的接线。
rule-hvac-unit_offline = 空调机组控制器无响应
rule-hvac-unit_offline-advice = 检查控制器电源及其网络或 RS-485 连接。
rule-lifts-lift_fault = 电梯故障
rule-lifts-lift_fault-advice = 确认是否有人被困并通过对讲安抚；通知电梯维保单位。
rule-lifts-lift_out_of_service_while_open = 营业时间内电梯停止服务
rule-lifts-lift_out_of_service_while_open-advice = 在电梯口张贴告示并通知电梯维保单位。
rule-lifts-entrapment = 电梯困人
rule-lifts-entrapment-advice = 通过对讲与被困乘客通话，告知救援正在赶来；拨打电梯维保单位救援电话；切勿自行开门或移动轿厢。
rule-lifts-alarm_button_doors_shut = 电梯轿厢门关闭时警铃按钮被按下：可能有人被困
rule-lifts-alarm_button_doors_shut-advice = 立即接听电梯对讲；无人应答或轿厢不动时按困人处理并通知电梯维保单位。
rule-lifts-trips_service_due = 电梯自上次保养后运行次数过多：请在下次例行保养前检查
rule-lifts-trips_service_due-advice = 请电梯维保单位在下次上门时检查制动器、门锁和钢丝绳，然后登记保养以清零计数。
rule-carpark-barrier_fault = 停车场道闸故障
rule-carpark-barrier_fault-advice = 派保安手动抬杆放行，并通知停车场设备维保单位。
rule-carpark-plate_recognition_fault = 车牌识别故障：车辆未在门口登记
rule-carpark-plate_recognition_fault-advice = 在门口人工登记车辆并通知停车场设备维保单位；摄像机镜面脏污时请清洁。
rule-carpark-guidance_fault = 车位引导系统故障：空余车位无法显示
rule-carpark-guidance_fault-advice = 检查引导控制器及车位探测器；修复前由保安引导车辆。
rule-carpark-fence_alarm = 周界电子围栏报警：有人触碰或剪断围栏
rule-carpark-fence_alarm-advice = 派保安前往该围栏防区并查看该处监控；有人闯入时拨打 110。
rule-carpark-fence_fault = 周界电子围栏故障：该防区无防护
rule-carpark-fence_fault-advice = 检查该防区的脉冲主机和围栏线；修复前加强该防区巡逻。
rule-comfort-room_too_warm_while_open = 室内过热，不适宜接待访客
rule-comfort-room_too_warm_while_open-advice = 检查该空间空调是否开启并在制冷；关好门和遮阳帘。
rule-comfort-room_too_cold_while_open = 室内过冷，不适宜接待访客
rule-comfort-room_too_cold_while_open-advice = 检查供暖，或空调是否制冷过度；检查其设定温度。
rule-comfort-room_too_humid_while_open = 室内过于潮湿，不适宜接待访客
rule-comfort-room_too_humid_while_open-advice = 检查空调是否在除湿（冷却盘管是否够冷、冷凝水是否排出）。
rule-comfort-co2_high = 空气不新鲜：二氧化碳超过室内空气质量限值
rule-comfort-co2_high-advice = 打开新风阀或窗户并检查新风机；人多的房间需要更多新风。
rule-comfort-energy_while_closed = 闭馆期间用电高于基准：照明或空调未关
rule-comfort-energy_while_closed-advice = 在照明和空调看板上找出仍在运行的设备并关闭；检查其定时器。
rule-general-device_fault = 设备报告故障
rule-general-device_fault-advice = 查看设备显示屏或网页上的故障信息，并通知其维保单位。
rule-hvac-unit_alarm = 空调机组报警
rule-hvac-unit_alarm-advice = 在机组控制器上读取报警代码；复位一次，若再次出现请通知空调维保单位。
rule-lighting-on_while_closed = 闭馆期间照明仍开启：浪费能源
rule-lighting-on_while_closed-advice = 关闭照明并检查该回路的时间表。
rule-lighting-off_while_open = 营业时间内照明关闭：检查回路及其时间表
rule-lighting-off_while_open-advice = 检查该回路的断路器和时间表。
rule-lighting-lamp_rated_life = 灯具超过额定寿命：请更换（耗电更多、亮度更低）
rule-lighting-lamp_rated_life-advice = 在下次维护时安排更换灯具。
rule-lighting-lamp_fault = 灯具或驱动器故障
rule-lighting-lamp_fault-advice = 更换灯具或其驱动器。
rule-lighting-lamp_failure = 照明回路已开启但功率远低于正常：灯具或驱动器已损坏
rule-lighting-lamp_failure-advice = 巡查该回路，更换损坏的灯具或驱动器；整个回路不亮时检查断路器。
rule-lighting-too_dark_while_open = 营业时间内空间照度不足
rule-lighting-too_dark_while_open-advice = 检查该空间照明是否开启且正常；更换损坏灯具并清洁脏污灯具。
rule-lighting-panel_offline = 照明控制柜无响应：灯光无法按时间表运行
rule-lighting-panel_offline-advice = 检查控制柜电源和网络连接；恢复前手动开关照明。
rule-security-door_forced = 门被强行打开
rule-security-door_forced-advice = 派最近的保安到现场，并查看监控录像。
rule-security-door_held_open = 门开启时间过长
rule-security-door_held_open-advice = 关好门并查明门被长时间开启的原因。
rule-security-door_open_after_hours = 闭馆期间门被打开
rule-security-door_open_after_hours-advice = 派保安检查该门并查明开门人。
rule-security-emergency_button = 紧急按钮被按下
rule-security-emergency_button-advice = 立即赶到按钮位置：有人需要帮助。必要时拨打 110 或 120。
rule-security-tamper = 设备箱防拆开关打开
rule-security-tamper-advice = 检查设备箱是否损坏并关好；无工单被打开时须上报。
rule-security-controller_down = 门禁控制器报告自身离线
rule-security-controller_down-advice = 检查控制器电源及其与门禁服务器的连接。
rule-security-camera_down = 监控摄像机离线
rule-security-camera_down-advice = 检查摄像机电源和网络；恢复前加强其覆盖区域的巡查。
rule-security-controller_offline = 门禁控制器无响应
rule-security-controller_offline-advice = 检查控制器电源和网络连接；恢复前门锁可能无法正常工作。

## 值班台的其他页面（`/patrols`、`/equipment`）、警报页的计划面板和 `/repairs` 上的月报。

nav-patrols = 巡更
nav-equipment = 设备
console-refused-title = 未执行，{ $site }
drills-end = 结束演练
silences-title = 静默（维护）
silences-none = 没有静默。
silences-one = { $device } { $rule } 静默至 { DATETIME($to) }：{ $reason }（{ $person }）
silences-end = 立即结束
silences-device = 设备
silences-reason = 原因（正在进行的工作）
silences-add = 维护静默
repairs-report = 月报月份
repairs-report-button = 查看月报
report-bad-month = 月份格式应为 YYYY-MM。
equipment-title = 设备，{ $site }
equipment-online = 自 { DATETIME($since) } 起在线
equipment-offline = 自 { DATETIME($since) } 起离线：{ $reason }
equipment-waiting = 尚未轮询
equipment-dashboard = 在 Grafana 中查看趋势
equipment-number = { $value } { $unit }
equipment-on = 开
equipment-off = 关
equipment-good = 正常
equipment-no-reading = 尚无读数
bad-reason-exception = 设备拒绝了请求
bad-reason-timeout = 无应答
bad-reason-transport = 连接中断
bad-reason-malformed = 应答错乱
bad-reason-not_finite = 非数值
bad-reason-flooding = 消息过多
patrols-title = 巡更，{ $site }
patrols-rounds = 今日巡更
patrols-no-rounds = 今天还没有巡更。
patrols-round = 路线 { $route }，{ DATETIME($start) } 开始的一轮
patrols-guard = 巡更人：{ $guard }
patrols-no-guard = 尚无人打卡
patrols-completion = 已到达 { $percent }% 的巡更点
patrols-checkpoint = 巡更点
patrols-planned = 计划时间
patrols-tapped = 打卡时间
patrols-verdict = 结果
patrols-time = { TIME($at) }
patrols-verdict-on_time = 准时
patrols-verdict-late = 迟到
patrols-verdict-early = 提前
patrols-verdict-out_of_order = 顺序错误
patrols-verdict-too_fast = 过快
patrols-verdict-missed = 漏巡
patrols-verdict-waiting = 待巡
patrols-alerts = 今日巡更警报
patrols-no-alerts = 今天没有巡更警报。
patrols-alert = { DATETIME($raised) }：{ $title }
patrols-refused = 今日被拒绝的打卡
patrols-no-refused = 今天没有被拒绝的打卡。
patrols-refused-tap = { DATETIME($at) }，{ $station }：{ $verdict }
patrols-tap-unknown_badge = 未知卡
patrols-tap-forged = 伪造的记录
patrols-tap-replayed = 重放的记录

## 值班台上的单条警报（`/console/alarms/{id}`）。

alarm-page-title = 警报，{ $site }
alarm-page-unknown = 没有编号为 { $id } 的警报。
alarm-page-timeline = 时间线
timeline-raised = 发生
timeline-reactivated = 再次发生
timeline-member_raised = 又一个点位报警
timeline-member_cleared = 一个点位恢复
timeline-drill = 演练
timeline-silenced = 已静默
timeline-unsilenced = 静默结束
timeline-muted = 已抑制
timeline-unmuted = 抑制解除
timeline-unrouted = 没有升级策略
timeline-notified = 已通知
timeline-escalated = 已升级
timeline-repeated = 再次通知
timeline-acknowledged = 已确认
timeline-cleared = 条件已恢复
timeline-resolved = 已关闭

## 报修单和返工（议题 19）。

channel-phone = 电话
channel-email = 邮件
channel-desk = 前台
channel-wecom = 企业微信
channel-condition = 系统告警
repairs-channel = 报修方式
repairs-cause = 原因（报修人所述）
repairs-reported-at = 报修时间（留空为现在）
repairs-bad-time = 报修时间不是有效的日期和时间。
repairs-reported = 通过{ $channel }报修，时间 { DATETIME($at) }
repairs-cause-was = 原因：{ $cause }
repairs-reworks = 已退回返工 { $count } 次

## 回访（议题 19）。

action-visit = 已回访
repairs-visits = 待回访
repairs-visit-due = 应于 { DATETIME($due) } 回访
repairs-visit-placeholder = 报修人的意见（必填）
repairs-score = { $score ->
    [5] 5 — 非常满意
    [4] 4 — 满意
    [3] 3 — 一般
    [2] 2 — 不满意
   *[other] { $score } — 非常不满意
}
report-satisfaction = 回访：应回访 { $scheduled } 单，已回访 { $done } 单；满意度{ $count ->
    [0] 未评分
   *[other] 平均 { $mean } 分（满分 5），共 { $count } 份，低于 3 分 { $low } 份
}
report-requests-heading = 反复报修：
report-request = - { $place }：{ $category }（{ $requests } 次）

## 通知维修人员接单（`[tickets] notify`）。

ticket-dispatched-to = 维修单 #{ $id } 派给 { $person }：{ $title }（{ $priority }）。
ticket-dispatched-requester = 报修人 { $person }，{ $contact }。
ticket-dispatched-due = 应于 { DATETIME($due) } 前修复。
ticket-dispatched-link = 维修看板：{ $link }
ticket-dispatched-subject = 维修单 #{ $id } 派给您：{ $title }

## 告知报修人（`[tickets] tell_requesters`）。

requester-registered = 您的报修 #{ $id }（{ $title }）已在{ $site }登记，我们将安排维修人员，出发时会通知您。
requester-registered-subject = { $site }：报修 #{ $id } 已登记
requester-on-the-way = 维修人员正在前往处理您的报修 #{ $id }（{ $title }），{ $site }。
requester-on-the-way-subject = { $site }：报修 #{ $id }，维修人员已出发
requester-ready = 您的报修 #{ $id }（{ $title }）已修复，请告知{ $site }是否验收。
requester-ready-subject = { $site }：报修 #{ $id } 已修复，请验收
repairs-unavailable = 暂时无法读取工单存储。

## 报修人的验收链接与前台提醒。
requester-ready-link = 请在此验收，或告诉我们仍有什么问题：{ $link }
ticket-acceptance-overdue = 维修单 #{ $id }（{ $title }）已于 { DATETIME($resolved) } 完成，仍在等待报修人验收。
ticket-acceptance-call = 请致电 { $person }，{ $contact }。
ticket-acceptance-overdue-subject = 维修单 #{ $id } 待验收：{ $title }
ticket-note-accepted-by-default = 报修人未在规定时间内答复：默认验收。
page-accept-title = 报修 #{ $id }：{ $title }
page-accept-done-at = 于 { DATETIME($resolved) } 完成。
page-accept-question = 维修结果您是否满意？
page-accept-score = 满意度（1 = 很不满意，5 = 非常满意）
page-accept-score-none = （不评分）
page-accept-note = 还有什么问题？（退回时必填）
page-accept-yes = 满意，验收通过
page-accept-no = 不满意，退回返修
page-accept-accepted = 谢谢：维修已验收。
page-accept-rejected = 谢谢：维修已退回，维修人员将重新处理。
page-accept-needs-note = 请说明仍有什么问题，以便维修人员查看。
page-accept-used = 此链接已被使用。
page-accept-not-waiting = 此维修单已不在等待您的答复。
page-accept-expired = 此链接已过期，请致电前台。
page-accept-forged = 这不是有效的链接。
page-accept-try-again = 维修台繁忙，请稍后再试。

## 预防性维护工单的检查表。
ticket-check-pass = { $item }：合格。
ticket-check-fail = { $item }：不合格。
ticket-check-value = { $item }：{ $value }。
ticket-check-failed-title = { $item } 检查不合格：{ $title }
report-accepted-via = 验收：{ $list }
report-acceptance-wait = 等待验收（修复到验收）：{ $count } 单，平均 { $mean } 分钟，90% 在 { $p90 } 分钟内
accepted-via-link = 报修人通过链接
accepted-via-staff = 工作人员代为登记
accepted-via-default = 默认验收
repairs-from-check = 由 #{ $id } 的检查不合格项生成
repairs-waiting-acceptance = 自 { DATETIME($since) } 起等待报修人验收
repairs-acceptance-reminded = 已提醒前台：请联系报修人。
repairs-check-note = 检查情况？
repairs-check-opened = （已生成维修单 #{ $id }）
check-result-pass = 合格
check-result-fail = 不合格
check-result-value = 读数
check-result-open = 尚未检查
repairs-photo = 照片 { $id }
repairs-add-photo = 添加照片
repairs-send-photo = 上传

## 人工报告的紧急情况。
alert-reported-title = 报告{ $class }：{ $place }
alert-event-reported = 报告人：{ $reporter }。
alert-event-reported-note = 报告人：{ $reporter }：{ $note }
alert-event-outside-silence = { $member } 不在 { $silence } 范围内：开始通知。
alert-class-duty = 值班
duty-missing-title = 无人签到：{ $person } 的 { $role } 班次（{ DATETIME($start) } 起）
alert-event-checked-in = { $person } 已签到。
notify-plan-overdue = 应急预案第 { $step } 步已超时：{ $what }。
alert-event-plan-step = 第 { $step } 步已完成：{ $what }
alert-event-plan-step-note = 第 { $step } 步已完成：{ $what }（{ $note }）
alert-event-plan-overdue = 第 { $step } 步已超时：{ $what }
patrol-finding-title = { $place }：{ $item } 不合格
patrol-finding-on-round = { $note }（巡更第 { $round } 轮发现）
alarm-page-plan = 应急预案
alarm-page-plan-done = 由 { $person } 于 { DATETIME($at) } 完成
alarm-page-plan-due = 应于 { DATETIME($due) } 前完成
alarm-page-plan-mark = 已完成
timeline-reported = 人工报告
timeline-plan_step = 预案步骤完成
timeline-plan_overdue = 预案步骤超时
report-emergency-title = 报告紧急情况
report-emergency-class = 类型
report-emergency-location = 地点
report-emergency-reporter = 报告人
report-emergency-note = 情况说明
report-emergency-button = 发出警报
check-in-title = 值班签到
check-in-note = 交接班说明
check-in-button = 签到上岗

## Schedules of the shipped packs: ticket titles and checklist items, in
## the order of each pack's `checklist`.
schedule-lifts-half_monthly = 电梯半月维护保养（TSG T5002 附件 A）
schedule-lifts-half_monthly-item-1 = 机房、轿顶、底坑清洁且安全
schedule-lifts-half_monthly-item-2 = 制动器工作正常，制动衬无过度磨损
schedule-lifts-half_monthly-item-3 = 层门和轿门门锁啮合可靠
schedule-lifts-half_monthly-item-4 = 开关门及门防夹保护正常
schedule-lifts-half_monthly-item-5 = 导轨和导靴润滑良好
schedule-lifts-half_monthly-item-6 = 紧急报警装置和对讲有人应答
schedule-lifts-half_monthly-item-7 = 轿厢照明和应急照明正常
schedule-lifts-half_monthly-item-8 = 各层平层准确
schedule-fire-alarm_system_quarterly = 火灾自动报警系统季度测试（GB 50166 6.2）
schedule-fire-alarm_system_quarterly-item-1 = 控制器自检、故障及断电显示
schedule-fire-alarm_system_quarterly-item-2 = 用试验烟或热源测试四分之一的探测器（每年全部测试一次）
schedule-fire-alarm_system_quarterly-item-3 = 测试四分之一的手动报警按钮
schedule-fire-alarm_system_quarterly-item-4 = 各防区声光警报器可听可见
schedule-fire-alarm_system_quarterly-item-5 = 防火门、排烟风机和电梯按报警联动
schedule-fire-alarm_system_quarterly-item-6 = 备用电池能维持控制器工作
schedule-fire-sprinkler_quarterly = 自动喷水灭火系统季度测试（GB 50261 第 9 章）
schedule-fire-sprinkler_quarterly-item-1 = 各防区末端试水装置放水正常
schedule-fire-sprinkler_quarterly-item-2 = 报警阀放水试验时水力警铃鸣响
schedule-fire-sprinkler_quarterly-item-3 = 水流指示器信号到达控制器
schedule-fire-sprinkler_quarterly-item-4 = 喷头未被涂漆、遮挡或堵塞
schedule-fire-sprinkler_quarterly-item-5 = 立管压力表读数（bar）
schedule-fire-fire_pumps_monthly = 消防水泵月度运行（GB 50974 14.2.2）
schedule-fire-fire_pumps_monthly-item-1 = 手动启动消防水泵并运行
schedule-fire-fire_pumps_monthly-item-2 = 压力下降时消防水泵自动启动
schedule-fire-fire_pumps_monthly-item-3 = 备用电源切换正常
schedule-fire-fire_pumps_monthly-item-4 = 水泵出口压力（bar）
schedule-fire-yearly_inspection = 由具备资质的检测机构对全部消防设施进行年度检测（GB 25201 第 7 章）
schedule-fire-yearly_inspection-item-1 = 核验检测机构资质
schedule-fire-yearly_inspection-item-2 = 收到并归档检测报告
schedule-fire-yearly_inspection-item-3 = 报告中的每项缺陷都已开维修工单
