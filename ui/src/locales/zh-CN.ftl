# Homeline — 简体中文。
# 消息 ID 和变量（{ $…}）与 en.ftl 相同；中文没有复数变化，数字直接写出。

## 标签页和窗口

tab-phone = 电话
tab-contacts = 联系人
tab-diagnostics = 诊断
tab-settings = 设置
app-demo-badge = 演示模式 — 未连接到 Homeline
app-call-indicator = 正在与 { $name } 通话 — 查看
app-keyring-missing = 没有系统密钥环：密码仅在本次运行期间保存，重启后需要重新输入。

## 共用标签

password-storage-keyring = 密码保存在系统密钥环中
password-storage-session = 密码仅在本次运行期间保存
password-storage-config = 密码保存在配置文件中（安全性较低）
password-storage-none = 无密码
transport-auto = 自动
transport-udp = UDP
transport-tcp = TCP
transport-tls = TLS
transport-ws = WS (WebSocket)
transport-wss = WSS（安全 WebSocket）
rate-khz = { NUMBER($rate, maximumFractionDigits: 1) } kHz

reg-direct = 仅直接呼叫 — 不注册
reg-registered = 已注册
reg-registering = 正在注册…
reg-stopped = 已停止重试，直到设置更改
reg-retry-in = { $seconds } 秒后重试
reg-retry-now = 正在重试…
reg-failed = 失败
reg-unregistered = 未注册

call-state-dialing = 正在呼叫…
call-state-ringing = 对方振铃中…
call-state-waiting = 呼叫等待
call-state-incoming = 来电
call-state-connecting = 正在连接…
call-state-on-hold = 已保持
call-state-remote-hold = 对方已保持通话
call-state-active = 通话中
call-state-ending = 正在挂断…
call-state-ended = 通话已结束

outcome-answered = 已接听
outcome-missed = 未接
outcome-rejected = 已拒接
outcome-declined = 对方已拒接
outcome-cancelled = 已取消
outcome-failed = 失败
outcome-busy = 忙线

ended-missed = 未接来电
ended-busy = 忙线
ended-failed = 呼叫失败
ended-cancelled = 呼叫已取消
ended-rejected = 已拒接来电
ended-declined = 对方拒接了呼叫
ended-default = 通话已结束

echo-test-name = 回声测试
when-yesterday = 昨天 { $time }
when-weekday = { $day } { $time }
when-date = { $date } { $time }
preview-direct = 直接呼叫 { $uri }
preview-calls = 通过 { $account } 呼叫 { $uri }
preview-calls-rule = 通过 { $account } 呼叫 { $uri }（{ $rule }）
preview-rule-prefix = 前缀 { $prefix }

quality-unknown = 尚无音频
quality-good = 良好
quality-fair = 一般
quality-poor = 较差

presence-available = 在线
presence-away = 离开
presence-busy = 忙碌 / 请勿打扰
presence-on-the-phone = 通话中
presence-offline = 离线
presence-unknown = 未知
presence-appear-offline = 显示为离线

check-dns = 域名解析
check-udp = 通话的网络流量 (UDP)
check-sip-ports = 与电话服务商的连接
check-nat-type = 路由器的地址转换 (NAT)
check-sip-alg = 路由器干扰通话 (SIP ALG)
check-nat-timeout = 路由器保持通话的时长
check-route = 通话的路由
check-rtp = 语音通道
check-relays = 中继服务器
check-quality = 通话质量
check-audio = 麦克风和扬声器
diag-status-ok = 正常
diag-status-warning = 警告
diag-status-problem = 有问题
diag-status-skipped = 未测试

## 界面自身的错误，以及已知代码的核心错误

error-unexpected-hint = 这很可能是 Homeline 的缺陷。请重试；如果问题依旧，请导出日志（设置 → 日志）并报告给我们。
error-no-reason = 出现问题，Homeline 未给出原因。
error-declined = 对方拒接了呼叫。
error-declined-hint = 请稍后再试。
error-busy = 忙线
error-busy-hint = 对方正在通话中，请稍后再试。
error-no_audio_received = 收不到对方的声音。
error-no_audio_received-hint = 防火墙或路由器可能拦截了音频。请换一个网络，或在账户设置中改用 TCP 或 TLS。
error-empty_message = 消息为空。
error-empty_message-hint = 请输入要发送的内容。
error-nothing_to_undo = 没有可撤销的修复。
error-nothing_to_undo-hint = 连接测试所做的修复在下一次修复之前可以撤销。

error-no_media = 收不到对方的声音。
error-no_media-hint = 我们在发送音频，但没有收到任何音频：很可能是防火墙或 NAT 拦截了传入的 UDP。请运行连接测试，或将账户切换为通过 TCP/TLS 中继。
error-media_stalled = 对方的声音中断了。
error-media_stalled-hint = 对方的声音中断了。如果没有恢复，说明网络路径发生了变化（Wi-Fi 漫游、VPN），或对方断开了连接。
error-rtp_timeout = 一分钟内没有收到音频，通话已结束。
error-rtp_timeout-hint = 对方或网络中断了通话，请重新拨打。
error-calls_stopped = 通话引擎已停止。
error-calls_stopped-hint = 请重启 Homeline；如果问题再次出现，请附上日志报告给我们。

# 注册失败。变量：$server、$transport（UDP、TCP、TLS、WS、WSS）、$port；部分消息还有 $user、$realm、
# $detail（系统原文，英文）、$code 和 $reason（服务器的应答）、$server_error（5xx 应答时为 yes）。
error-wrong_credentials = 用户名或密码错误：{ $server } 拒绝了“{ $user }”的凭据（域“{ $realm }”）。
error-wrong_credentials-hint = 请在账户设置中检查用户名、认证用户和密码。为免被服务商封禁，Homeline 已停止重试。
error-password_required = { $server } 需要密码（域“{ $realm }”），但尚未设置。
error-password_required-hint = 请在账户设置中输入该账户的密码。
error-unsupported_auth = { $server } 要求使用 Homeline 不支持的认证方式。
error-unsupported_auth-hint = 请询问服务商能否使用 MD5 或 SHA-256 摘要认证。
error-no_answer = { $server } 无应答（{ $transport }，端口 { $port }）。
error-no_answer-hint = 服务器可能已停止运行。{ $transport ->
    [UDP] UDP 端口 { $port } 可能被防火墙或服务商封锁；请在账户的“传输方式”中改用 TCP 或 TLS，或换一个端口（5060、6060、8080）。
   *[other] 端口 { $port } 可能被防火墙封锁；请检查服务器地址和端口，或换一种传输方式。
  }
error-forbidden = { $server } 拒绝了注册（应答 403；{ $transport }，端口 { $port }）。
error-forbidden-hint = 该账户可能已停用，或不允许从此网络登录；请联系服务商。
error-transport_error = 无法连接 { $server }（{ $transport }，端口 { $port }）：{ $detail }。
error-transport_error-hint = { $transport ->
    [UDP] UDP 端口 { $port } 可能被防火墙或服务商封锁；请在账户的“传输方式”中改用 TCP 或 TLS，或换一个端口（5060、6060、8080）。
   *[other] 端口 { $port } 可能被防火墙封锁；请检查服务器地址和端口，或换一种传输方式。
  }
error-rejected = { $server } 返回了 { $code } { $reason }（{ $transport }，端口 { $port }）。
error-rejected-hint = { $server_error ->
    [yes] 服务器出现故障；Homeline 稍后会自动重试。
   *[no] 请检查账户设置；如果设置无误，请询问服务商此应答的含义。
  }
error-interval_too_brief = { $server } 与 Homeline 无法就注册间隔达成一致。
error-interval_too_brief-hint = 请询问服务商可接受的注册间隔。
error-server_not_found = 无法在 DNS 中找到 { $host }：{ $why ->
    [no_such_name] 该名称不存在
    [no_address] 该名称没有地址
    [timeout] DNS 服务器未及时应答
    [unreachable] 无法连接任何 DNS 服务器
    [refused] DNS 服务器拒绝或未能完成查询
    [no_resolver] 此电脑未设置 DNS 服务器
   *[failed] DNS 查询失败
  }。
error-server_not_found-hint = 请检查账户设置中的注册服务器名称以及网络连接。

## 电话标签页

phone-title = 电话
phone-loading-accounts = 正在加载账户…
phone-empty-title = 还没有账户
phone-empty-echo = 在此之前，可用回声测试检查麦克风和扬声器：您说的话会被播放回来。
phone-go-to-settings = 前往设置
phone-echo-test = 回声测试
phone-accounts-title = 您的账户
phone-tag-default = 默认
phone-tag-prefix = 前缀 { $prefix }

## 拨号和键盘

dialer-title = 拨号
dialer-input-label = 号码或 SIP 地址
dialer-placeholder = 号码或 sip:用户名@服务器
dialer-backspace = 删除最后一个字符
dialer-call = 拨打
dialer-calling = 正在呼叫…
dialer-empty = 输入号码或 SIP 地址，或使用拨号键盘。
dialer-checking = 正在检查…
dialer-keypad = 拨号键盘
dialer-echo-explain = 听到自己的声音，以检查麦克风和扬声器；无需账户。
key-star = 星号
key-hash = 井号

## 通话界面

call-via = 通过 { $account }
call-via-echo = 内置回声线路
call-via-direct = 直接呼叫
call-duration = 通话时长
call-controls = 通话控制
call-mute = 静音
call-unmute = 取消静音
call-hold = 保持
call-resume = 恢复
call-keypad = 拨号键盘
call-hangup = 挂断
call-keypad-tones = 拨号键盘：发送按键音
call-tones-explain = 按键发送按键音，例如用于语音菜单。
call-tones-sent = 已发送：{ $tones }
call-levels = 音量电平
call-microphone = 麦克风
call-speaker = 扬声器
call-others = 其他通话
call-switch-to-label = 切换到与 { $name } 的通话
call-hangup-label = 挂断与 { $name } 的通话
call-resume-this = 恢复此通话
call-switch-to = 切换

## 通话记录

history-title = 最近通话
history-clear = 清除记录
history-confirm-label = 确认清除通话记录
history-confirm = 从记录中删除全部 { $count } 个通话？
history-clearing = 正在清除…
history-clear-confirm = 清除
history-keep = 保留
history-loading = 正在加载通话记录…
history-empty = 还没有通话。
history-incoming = 呼入
history-outgoing = 呼出
history-missed-call = 未接来电：
history-incoming-call = 呼入通话：
history-outgoing-call = 呼出通话：
history-via = 通过 { $account }
history-hang-up-first = 请先挂断当前通话
history-call-back-label = 回拨 { $name }
history-call-back = 回拨

## 通话结束后

ended-dismiss = 关闭
ended-back = 返回拨号

## 来电

incoming-waiting = 呼叫等待
incoming-call = 来电
incoming-to = 来电至 { $account }
incoming-direct = 直接呼叫
incoming-answer-hold = 接听并保持当前通话
incoming-answer = 接听
incoming-reject = 拒接

## 通话质量和电平

quality-label = 质量：{ $quality }
quality-mos = MOS { NUMBER($mos, minimumFractionDigits: 1, maximumFractionDigits: 1) }（满分 4.5）
quality-codec = 编解码器
quality-codec-none = 尚未协商
quality-loss = 丢包
quality-jitter = 抖动
quality-rtt = 往返时延
quality-rtt-unknown = 未知
quality-encryption = 加密
quality-encrypted = 已加密 (SRTP)
quality-not-encrypted = 未加密
quality-waiting = 通话有声音后将显示各项数据。
level-muted = 已静音
level-no-sound = 无声音
level-silent = 静默
unit-percent = { NUMBER($value, maximumFractionDigits: 1) } %
unit-ms = { NUMBER($value, maximumFractionDigits: 1) } 毫秒
level-db = { $db } dB

## 关于（设置 → 常规）

info-version = 版本
info-config = 配置文件
info-logs = 日志文件夹
info-password-storage = 密码存储
info-keyring = 系统密钥环可用 — { $backend }
info-no-keyring = 没有系统密钥环 — { $message }
info-no-keyring-default = 密码仅在本次运行期间保存。

## 设置

settings-title = 设置
settings-about = 关于
settings-no-info = Homeline 无法获取其版本和路径。
settings-licence = Homeline 是开源软件，采用 MIT 或 Apache-2.0 许可证。

general-title = 常规
general-language = 语言
general-language-system = 跟随系统
general-autostart = 登录时启动 Homeline
general-quit-on-close = 关闭窗口时退出
general-tray-explain = 否则关闭窗口后 Homeline 会继续在系统托盘中运行，来电仍会响铃。退出选项在托盘图标的菜单中。
general-quit-on = 现在关闭窗口会退出 Homeline。
general-quit-off = 现在关闭窗口后 Homeline 会继续在托盘中运行。
general-autostart-on = Homeline 将在您登录时启动。
general-autostart-off = Homeline 将不再自动启动。

logs-title = 日志
logs-explain = Homeline 会记录日志以帮助排查故障；日志中绝不会写入密码。
logs-folder = 文件夹：
logs-open = 打开日志文件夹
logs-exporting = 正在导出…
logs-export = 导出日志
logs-saved-to = 日志已保存到

headset-title = 耳机
headset-call-buttons = 通话按键
headset-call-buttons-hint = 耳机按键用于接听和挂断；Flash 键用于保持。
headset-mute-sync = 静音同步
headset-mute-sync-hint = 在耳机上静音会使通话静音，反之亦然。
headset-leds = 指示灯和振铃
headset-leds-hint = 耳机会显示摘机、振铃、静音和保持状态。
headset-ring-on-headset = 在耳机上振铃
headset-ring-on-headset-hint = 来电时耳机也会响铃。
headset-state-connected = 已连接
headset-state-searching = 未找到带通话按键的耳机
headset-state-off = 耳机集成已关闭
headset-state-problem = 已找到，但无法使用
headset-state-stopped = 未启动
headset-audio = （音频：{ $device }）
headset-enabled = 耳机集成
headset-enabled-explain = 关闭它可以区分是耳机问题还是网络问题。
headset-looking = 正在查找耳机…

## 设置 → 账户

accounts-title = 账户
accounts-add = 添加账户
accounts-added = 已添加 { $name }。
accounts-saved = 已保存 { $name }。
accounts-removed = 已删除 { $name }。
accounts-transport = 传输方式 { $transport }
accounts-via = 通过 { $registrar }
accounts-no-registrar = 无注册服务器（仅直接呼叫）
accounts-auth-user = 认证用户 { $user }
accounts-dial-prefix = 拨号前缀 { $prefix }
accounts-default = 默认账户
accounts-empty = 还没有账户。添加您的 SIP 账户即可开始使用。
accounts-edit-label = 编辑 { $name }
accounts-edit = 编辑
accounts-remove-label = 删除 { $name }
accounts-remove = 删除
accounts-confirm-label = 确认删除
accounts-confirm = 删除 { $name }？已保存的密码也会一并删除。
accounts-removing = 正在删除…
accounts-keep = 保留

account-form-edit-title = 编辑 { $name }
account-form-add-title = 添加账户
account-form-display-name = 显示名称
account-form-required = （必填）
account-form-display-name-placeholder = 张伟
account-form-sip-address = SIP 地址
account-form-auth-user = 认证用户
account-form-auth-user-placeholder = 与 SIP 地址中的用户名相同
account-form-password = 密码
account-form-password-keep-none = 留空则账户保持无密码。
account-form-password-keep = 留空则保留已保存的密码。
account-form-password-keyring = 保存在系统密钥环中，绝不写入配置文件。如果账户不需要密码请留空。
account-form-password-session = 没有系统密钥环：密码仅在本次运行期间保存。如果账户不需要密码请留空。
account-form-forget-password = 忘记已保存的密码
account-form-registrar = 注册服务器 / 代理
account-form-registrar-placeholder = 无 — 仅直接呼叫
account-form-transport = 传输方式
account-form-dial-prefix = 拨号前缀
account-form-dial-prefix-placeholder = 无
account-form-dial-prefix-invalid = 拨号前缀只能由数字、* 和 # 组成。
account-form-dial-prefix-help = 可选。带此前缀拨打的号码会去掉前缀后通过此账户呼叫：例如前缀为 9 时，拨 90301234 即呼叫 0301234。
account-form-default = 默认账户
account-form-default-text = 没有匹配前缀的号码通过此账户呼叫
account-form-saving = 正在保存…
account-form-save = 保存更改
account-form-add = 添加账户
account-form-cancel = 取消
account-form-required-both = 请填写显示名称和 SIP 地址。
account-form-required-name = 请填写显示名称。
account-form-required-address = 请填写 SIP 地址。
account-form-required-hint = 显示名称和 SIP 地址为必填项，其他字段可选。
account-form-prefix-error = 拨号前缀只能包含数字、* 和 #。
account-form-prefix-error-hint = 不需要前缀请留空，或使用 9、*7 之类的前缀。

## 设置 → 音频

audio-title = 音频
audio-refresh = 刷新
audio-test-heard = 麦克风采集到了声音（最大 { $db } dB）。
audio-test-silent = 麦克风没有声音：请检查它是否已插好且未静音，或选择其他麦克风。
audio-role-microphone = 麦克风
audio-role-speaker = 扬声器
audio-role-ring = 响铃设备
audio-saved = 已保存，从下一次通话开始生效。
audio-channels = { $count } 声道
audio-system-default = 系统默认
audio-system-default-now = 系统默认（当前为 { $device }）
audio-not-connected = { $device }（未连接）
audio-none-found = 未找到。
audio-default = 默认
audio-testing = 正在测试…
audio-test = 测试扬声器和麦克风
audio-test-explain = 在扬声器上播放三秒提示音，并显示麦克风听到的声音。
audio-looking = 正在查找音频设备…
audio-no-devices = 未找到音频设备
audio-no-devices-hint = 请连接耳机或扬声器，或检查系统的声音设置，然后点击“刷新”。
audio-host = 音频系统：{ $host }。“系统默认”跟随系统标记为默认的设备。
audio-inputs = 麦克风（输入）
audio-outputs = 扬声器和耳机（输出）

## 联系人

contact-form-edit = 编辑 { $name }
contact-form-new = 新建联系人
contact-form-name = 姓名
contact-form-address = SIP 地址或号码
contact-form-address-placeholder = sip:bob@example.com 或 +86 10 1234 5678
contact-form-note = 备注
contact-form-save = 保存
contact-form-cancel = 取消
contacts-title = 联系人
contacts-my-status = 我的状态
contacts-status-note-label = 状态说明
contacts-status-note-placeholder = 说明（可选）
contacts-set-status = 设置状态
contacts-presence-needs-account = 账户注册后即可使用在线状态。
contacts-seen-as = 其他人看到您的状态：{ $status }
contacts-seen-offline = 离线（显示为离线）
contacts-search-label = 搜索联系人
contacts-search-placeholder = 按姓名、地址、号码或备注搜索
contacts-add = 添加联系人
contacts-empty = 还没有联系人。添加您常通话和聊天的人吧。
contacts-no-match = 没有与“{ $query }”匹配的联系人。
contacts-list = 联系人
contacts-chat-label = 与 { $name } 聊天
contacts-chat = 聊天
contacts-call-label = 呼叫 { $name }
contacts-call = 拨打
contacts-edit-label = 编辑 { $name }
contacts-edit = 编辑
contacts-remove-label = 删除 { $name }
contacts-remove = 删除
contacts-unread = { $count } 条未读消息

chat-label = 与 { $name } 聊天
chat-title = 与 { $name } 聊天
chat-close = 关闭
chat-empty = 还没有与 { $name } 的消息。
chat-sending = 正在发送…
chat-delivered = 已送达
chat-failed = 未送达
chat-input-label = 发给 { $name } 的消息
chat-needs-account = 账户注册后即可聊天
chat-placeholder = 消息
chat-send = 发送

## 诊断

diag-title = 诊断
diag-intro = 检查通话能否穿过您的网络，用通俗的话说明问题所在，并自动修复 Homeline 能修复的问题。快速测试约需 8 秒。
diag-testing = 正在测试…
diag-start = 测试我的连接
diag-background = 同时测量路由器让通话保持畅通的时长（最多再需 4 分钟）
diag-earlier-run = 之前的测试，{ $when }。
diag-took = 快速测试用时 { NUMBER($seconds, minimumFractionDigits: 1, maximumFractionDigits: 1) } 秒。
diag-still-measuring = 仍在测量路由器让通话保持畅通的时长…
diag-fix-all = 修复 Homeline 能修复的所有问题
diag-export = 导出报告
diag-changed = Homeline 更改了以下设置：
diag-undo = 撤销
diag-nothing-changed = 这些设置原本就是如此：没有任何更改。
diag-put-back = 已恢复原样：
diag-exported = 报告已保存为 { $text } 和 { $json }。
diag-pending = { $check }：正在测试…
diag-pending-timeout = { $check }：正在测量（最多 4 分钟）…
diag-about = 关于此安装
diag-no-info = Homeline 无法获取其版本和路径（见上方消息）。
diag-loading = 正在加载…
diag-what-to-do = 解决办法：
diag-fix-it = 帮我修复
diag-details = 供 IT 支持参考的详细信息
diag-last-runs = 最近的测试
diag-no-runs = 还没有运行过测试：请点击“测试我的连接”。
diag-show = 查看

plot-rtt = 往返时延（毫秒）
plot-jitter = 抖动（毫秒）
plot-lost = 丢失的包
plot-burst-series = 连续丢包
plot-x = 测试开始后的秒数
plot-y = 毫秒
plot-label = 每个测试包的往返时延和抖动
plot-failed = 此处无法绘制图表（{ $reason }）。
plot-caption = 每个测试包的往返时延和抖动（共 { $count } 个包，间隔 20 毫秒）。
plot-bursts = 连续丢包（红色阴影）：{ $bursts }。
plot-burst = { NUMBER($from, minimumFractionDigits: 2, maximumFractionDigits: 2) }–{ NUMBER($to, minimumFractionDigits: 2, maximumFractionDigits: 2) } 秒处 { $count } 个包
plot-no-bursts = 没有连续丢包。

## Voicemail indicator (Phone tab)
voicemail-new = { $count } 条新语音留言
voicemail-urgent = （{ $count } 条紧急）
voicemail-old = ，{ $count } 条已听
voicemail-none = 没有新语音留言
voicemail-call = 拨打语音信箱

## 设置 → 网络

network-title = 网络
network-loading = 正在读取网络设置…
network-stun = STUN 服务器（每行一个）
network-stun-explain = 它们告诉 Homeline 你的网络连接的公网地址。留空表示不使用。
network-turn = TURN 中继
network-turn-explain = 无法直接连通对方时，音频会经由可用且最快的中继传输。
network-turn-none = 尚未添加中继。
network-turn-uri = 地址
network-turn-username = 用户名
network-turn-password = 密码
network-turn-password-keep = 已保存 — 输入新密码即可替换
network-turn-password-stored = 密码保存在系统密钥环中。
network-turn-password-session = 没有系统密钥环，密码仅在本次运行期间保存。
network-turn-password-config = 密码写在配置文件中（不够安全）：重新输入一次即可移入系统密钥环。
network-turn-password-retype = 地址或用户名已更改：请重新输入密码，否则该中继将没有密码。
network-turn-password-forget = 删除密码
network-turn-password-forgotten = 保存后将删除已保存的密码。
network-turn-password-new = 保存时，新密码会存入系统密钥环，绝不写入配置文件。
network-turn-password-none = 未保存密码。
network-turn-remove = 移除
network-turn-remove-label = 移除第 { $n } 个中继
network-turn-add = 添加中继
network-force-relay = 始终通过中继传输音频
network-force-relay-explain = 速度稍慢，但能穿过严格的防火墙和对称型 NAT。需要一个可用的中继。
network-ice = 对支持 ICE 的电话使用 ICE
network-ice-explain = 通话暂未使用：目前每个通话会自行选择路径（直连，或在需要时经由中继），通话界面会显示所用路径。通话支持 ICE 后将使用此开关。
network-save = 保存网络设置
network-saving = 正在保存…
network-saved = 已保存，从下一次通话开始生效。
network-test = 测试中继
network-testing = 正在测试中继…
network-test-explain = 通过 UDP、TCP 和 TLS 逐一测试已保存的中继并测量往返时间，需要几秒钟。
network-test-nothing = 添加中继并保存后即可测试。
network-test-used = 通话经由 { $host }（{ $transport }）。
network-test-none-works = 没有可用的中继：在阻止直接传输音频的网络中，通话将没有声音。
network-test-none-configured = 尚未配置中继。
network-test-relay = 中继
network-test-transport = 连接方式
network-test-result = 结果
network-test-rtt = 往返时间
network-test-works = 可用
network-test-fails = 不可用
network-test-used-tag = 通话使用此中继
network-test-ms = { $ms } 毫秒

## How the call's audio travels (call screen); English is normally the core's own sentence
call-route-label = 音频路径：
route-direct = 直连
route-host = 直连（本地网络）
route-srflx = 经由路由器的公网地址
route-prflx = 经由路由器的公网地址（由 ICE 发现）
route-relay = 经由中继 { $host }（{ $transport } { $port }）
route-relay-unknown = 经由中继（{ $transport }）
route-with-reason = { $route }，因为{ $reason }
route-because-forced = 设置要求使用中继
route-because-symmetric_nat = 您的路由器为每个目标更换端口
route-because-udp_blocked = 此网络屏蔽了 UDP

## 托盘图标和桌面通知（由应用外壳显示：src-tauri/src/texts.rs）

tray-show = 显示 Homeline
tray-echo = 回声测试
tray-quit = 退出 Homeline
tray-tooltip-idle = Homeline
tray-tooltip-ready = Homeline — 可以通话
tray-tooltip-connecting = Homeline — 正在连接…
tray-tooltip-problems = Homeline — { $accounts } 个账户中有 { $problems } 个无法注册
tray-tooltip-missed = { $count } 个未接来电
notify-tray-title = Homeline 仍在运行
notify-tray-body = 来电仍会在这里响铃。可通过托盘图标打开 Homeline，“退出”在其菜单中。若要在关闭窗口时退出，请前往 设置 → 常规。
notify-incoming-title = 来电
notify-waiting-title = 呼叫等待
notify-incoming-body = { $who } 来电。打开 Homeline 接听。
notify-message-title = 来自 { $who } 的消息

## 首次运行（电话标签页，尚无账户）

first-run-title = 设置您的电话
first-run-intro = 输入您的 SIP 地址和密码。Homeline 会自行找到服务商的服务器以及穿过您网络的路径。
first-run-address = SIP 地址
first-run-address-placeholder = bob@sip.example.com
first-run-password = 密码
first-run-connect = 连接
first-run-connecting = 正在连接…
first-run-bad-address = 请按“名称@服务商”的格式输入 SIP 地址，例如 bob@sip.example.com。
first-run-bad-address-hint = 服务商的欢迎邮件或账户页面中会写明；它也可能被称为 SIP URI、SIP 用户或 SIP 登录名。
first-run-registering = 正在查找 { $host } 的服务器并注册…
first-run-registered = 注册成功：现在可以用 { $address } 拨打和接听电话。
first-run-failed = Homeline 无法在 { $host } 注册。
first-run-echo = 现在试试回声测试：您说的话会在一秒后传回，让您听到自己的麦克风和扬声器。
first-run-done = 完成
first-run-try-again = 重试
first-run-advanced = 您的服务商是否提供了专用的服务器、端口或传输方式？
