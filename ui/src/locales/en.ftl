# Homeline — English (the source language).
# Each message id names where it is used; variables are in { $braces }.
# Plurals use Fluent's select on a number: [one] … *[other] … (CLDR rules per language).

## Tabs and the window

tab-phone = Phone
tab-contacts = Contacts
tab-diagnostics = Diagnostics
tab-settings = Settings
app-demo-badge = Demo mode — not connected to Homeline
app-call-indicator = On a call with { $name } — show
app-keyring-missing = No system keyring: passwords are kept for this session only and asked for again after a restart.

## Labels shared by several screens

password-storage-keyring = Password in system keyring
password-storage-session = Password kept for this session only
password-storage-config = Password in config file (less safe)
password-storage-none = No password
transport-auto = Auto
transport-udp = UDP
transport-tcp = TCP
transport-tls = TLS
transport-ws = WS (WebSocket)
transport-wss = WSS (secure WebSocket)
rate-khz = { NUMBER($rate, maximumFractionDigits: 1) } kHz

reg-direct = Direct calls only — no registration
reg-registered = Registered
reg-registering = Registering…
reg-stopped = Stopped trying until the settings change
reg-retry-in = Trying again in { $seconds } s
reg-retry-now = Trying again now…
reg-failed = Failed
reg-unregistered = Not registered

call-state-dialing = Calling…
call-state-ringing = Ringing…
call-state-waiting = Waiting call
call-state-incoming = Incoming call
call-state-connecting = Connecting…
call-state-on-hold = On hold
call-state-remote-hold = Held by the other side
call-state-active = Connected
call-state-ending = Hanging up…
call-state-ended = Call ended

outcome-answered = Answered
outcome-missed = Missed
outcome-rejected = Rejected
outcome-declined = Declined
outcome-cancelled = Cancelled
outcome-failed = Failed
outcome-busy = Busy

ended-missed = Missed call
ended-busy = Busy
ended-failed = Call failed
ended-cancelled = Call cancelled
ended-rejected = Call rejected
ended-declined = Call declined
ended-default = Call ended

echo-test-name = Echo test
when-yesterday = Yesterday { $time }
when-weekday = { $day } { $time }
when-date = { $date } { $time }
preview-direct = Direct call to { $uri }
preview-calls = Calls { $uri } from { $account }
preview-calls-rule = Calls { $uri } from { $account } ({ $rule })
preview-rule-prefix = prefix { $prefix }

quality-unknown = No audio yet
quality-good = Good
quality-fair = Fair
quality-poor = Poor

presence-available = Available
presence-away = Away
presence-busy = Busy / Do not disturb
presence-on-the-phone = On the phone
presence-offline = Offline
presence-unknown = Unknown
presence-appear-offline = Appear offline

check-dns = Name lookup
check-udp = Internet traffic for calls (UDP)
check-sip-ports = Connection to your phone provider
check-nat-type = Your router's address translation
check-sip-alg = Router meddling with calls (SIP ALG)
check-nat-timeout = How long your router remembers a call
check-route = Route of your calls
check-rtp = Voice path
check-relays = Relay servers
check-quality = Call quality
check-audio = Microphone and speaker
diag-status-ok = OK
diag-status-warning = Warning
diag-status-problem = Problem
diag-status-skipped = Not tested

## Errors the UI says itself, and core errors it can say better by their code
## (in English the core's own words are shown; other languages translate these codes).

error-unexpected-hint = This is likely a bug in Homeline. Try again; if it keeps happening, export the logs (Settings → Logs) and report it.
error-no-reason = Something went wrong and Homeline gave no reason.
error-declined = The other side declined the call.
error-declined-hint = Try again later.
error-busy = Busy
error-busy-hint = The other side is on another call. Try again later.
error-no_audio_received = No sound is arriving from the other side.
error-no_audio_received-hint = A firewall or router may block the audio. Try another network, or TCP or TLS in the account settings.
error-empty_message = The message is empty.
error-empty_message-hint = Type something to send.
error-nothing_to_undo = There is no fix to undo.
error-nothing_to_undo-hint = Fixes applied by the connectivity test can be undone until the next fix.

error-no_media = No audio arrives from the other side.
error-no_media-hint = We send audio but receive none: a firewall or NAT is probably blocking incoming UDP. Try the connectivity test, or switch the account to the TCP/TLS relay.
error-media_stalled = The other side's audio stopped arriving.
error-media_stalled-hint = The other side's audio stopped arriving. If it does not come back, the network path changed (Wi-Fi roaming, VPN) or the other side lost its connection.
error-rtp_timeout = No audio arrived for a minute, so the call was ended.
error-rtp_timeout-hint = The other side or the network dropped the call; call again.
error-calls_stopped = The call engine has stopped.
error-calls_stopped-hint = Restart Homeline; if this repeats, report it with the log.

# Registration failures. Variables: $server (the name in the account), $transport (UDP, TCP,
# TLS, WS, WSS), $port; where named: $user, $realm, $detail (the system's own words), $code and
# $reason (the server's answer), $server_error (yes for a 5xx answer).
error-wrong_credentials = Wrong user name or password: { $server } refused the credentials of "{ $user }" (realm "{ $realm }").
error-wrong_credentials-hint = Check the user name, authentication user and password in the account settings. Homeline stopped trying so that the provider does not block you.
error-password_required = { $server } asks for a password (realm "{ $realm }") and none is set.
error-password_required-hint = Enter the account's password in the account settings.
error-unsupported_auth = { $server } asks for an authentication method Homeline does not support.
error-unsupported_auth-hint = Ask your provider whether MD5 or SHA-256 digest authentication can be used.
error-no_answer = No answer from { $server } over { $transport } port { $port }.
error-no_answer-hint = The server may be down. { $transport ->
    [UDP] UDP port { $port } may be blocked by a firewall or the provider; try TCP or TLS in the account's transport setting, or another port (5060, 6060, 8080).
   *[other] Port { $port } may be blocked by a firewall; check the server address and port, or try another transport.
  }
error-forbidden = { $server } refused the registration (403 Forbidden) over { $transport } port { $port }.
error-forbidden-hint = The account may be disabled or not allowed from this network; ask your provider.
error-transport_error = Could not reach { $server } over { $transport } port { $port }: { $detail }.
error-transport_error-hint = { $transport ->
    [UDP] UDP port { $port } may be blocked by a firewall or the provider; try TCP or TLS in the account's transport setting, or another port (5060, 6060, 8080).
   *[other] Port { $port } may be blocked by a firewall; check the server address and port, or try another transport.
  }
error-rejected = { $server } answered { $code } { $reason } over { $transport } port { $port }.
error-rejected-hint = { $server_error ->
    [yes] The server has a problem; Homeline retries later by itself.
   *[no] Check the account settings; if they are right, ask your provider what this answer means.
  }
error-interval_too_brief = { $server } and Homeline could not agree on a registration interval.
error-interval_too_brief-hint = Ask your provider which registration interval it accepts.
error-server_not_found = Could not find { $host } in DNS: { $why ->
    [no_such_name] the name does not exist
    [no_address] the name has no address
    [timeout] the DNS server did not answer in time
    [unreachable] no DNS server could be reached
    [refused] the DNS server refused or failed the lookup
    [no_resolver] this computer has no DNS server set up
   *[failed] the DNS lookup failed
  }.
error-server_not_found-hint = Check the registrar's name in the account settings and the internet connection.

## Phone tab

phone-title = Phone
phone-loading-accounts = Loading accounts…
phone-empty-title = No account yet
phone-empty-echo = Until then the echo test checks your microphone and speakers: what you say comes back.
phone-go-to-settings = Go to Settings
phone-echo-test = Echo test
phone-accounts-title = Your accounts
phone-tag-default = default
phone-tag-prefix = prefix { $prefix }

## Dialer and keypads

dialer-title = Dial
dialer-input-label = Number or SIP address
dialer-placeholder = Number or sip:name@host
dialer-backspace = Delete the last character
dialer-call = Call
dialer-calling = Calling…
dialer-empty = Type a number or a SIP address, or use the keypad.
dialer-checking = Checking…
dialer-keypad = Keypad
dialer-echo-explain = Hear yourself back to check microphone and speakers; no account needed.
key-star = star
key-hash = hash

## Call screen

call-via = via { $account }
call-via-echo = Built-in echo line
call-via-direct = Direct call
call-duration = Call duration
call-controls = Call controls
call-mute = Mute
call-unmute = Unmute
call-hold = Hold
call-resume = Resume
call-keypad = Keypad
call-hangup = Hang up
call-keypad-tones = Keypad: send tones
call-tones-explain = Press keys to send tones, e.g. for a voice menu.
call-tones-sent = Sent: { $tones }
call-levels = Audio levels
call-microphone = Microphone
call-speaker = Speaker
call-others = Other calls
call-switch-to-label = Switch to the call with { $name }
call-hangup-label = Hang up the call with { $name }
call-resume-this = Resume this call
call-switch-to = Switch to

## Call history

history-title = Recent calls
history-clear = Clear history
history-confirm-label = Confirm clearing the history
history-confirm = { $count ->
    [one] Remove { $count } call from the history?
   *[other] Remove all { $count } calls from the history?
}
history-clearing = Clearing…
history-clear-confirm = Clear
history-keep = Keep them
history-loading = Loading the history…
history-empty = No calls yet.
history-incoming = Incoming
history-outgoing = Outgoing
history-missed-call = Missed call:
history-incoming-call = Incoming call:
history-outgoing-call = Outgoing call:
history-via = via { $account }
history-hang-up-first = Hang up first
history-call-back-label = Call back { $name }
history-call-back = Call back

## After a call

ended-dismiss = Dismiss
ended-back = Back to dialer

## Incoming call

incoming-waiting = Call waiting
incoming-call = Incoming call
incoming-to = To { $account }
incoming-direct = Direct call
incoming-answer-hold = Answer and hold current
incoming-answer = Answer
incoming-reject = Reject

## Call quality and levels

quality-label = Quality: { $quality }
quality-mos = MOS { NUMBER($mos, minimumFractionDigits: 1, maximumFractionDigits: 1) } of 4.5
quality-codec = Codec
quality-codec-none = not agreed yet
quality-loss = Loss
quality-jitter = Jitter
quality-rtt = Round trip
quality-rtt-unknown = unknown
quality-encryption = Encryption
quality-encrypted = Encrypted (SRTP)
quality-not-encrypted = Not encrypted
quality-waiting = Numbers appear once the call has audio.
level-muted = Muted
level-no-sound = No sound
level-silent = Silent
unit-percent = { NUMBER($value, maximumFractionDigits: 1) } %
unit-ms = { NUMBER($value, maximumFractionDigits: 1) } ms
level-db = { $db } dB

## About (Settings → General)

info-version = Version
info-config = Configuration file
info-logs = Log folder
info-password-storage = Password storage
info-keyring = Keyring available — { $backend }
info-no-keyring = No system keyring — { $message }
info-no-keyring-default = passwords are kept for this session only.

## Settings

settings-title = Settings
settings-about = About
settings-no-info = Homeline could not tell its version and paths.
settings-licence = Homeline is open source under the MIT or Apache-2.0 licence.

general-title = General
general-language = Language
general-language-system = System default
general-autostart = Start Homeline when I log in
general-quit-on-close = Quit when the window closes
general-tray-explain = Otherwise closing the window keeps Homeline running in the system tray, so that calls still ring. Quit is in the tray icon's menu.
general-quit-on = Closing the window now quits Homeline.
general-quit-off = Closing the window now keeps Homeline running in the tray.
general-autostart-on = Homeline will start when you log in.
general-autostart-off = Homeline will not start by itself any more.

logs-title = Logs
logs-explain = Homeline keeps a log to help find faults; passwords are never written to it.
logs-folder = Folder:
logs-open = Open log folder
logs-exporting = Exporting…
logs-export = Export logs
logs-saved-to = Logs saved to

headset-title = Headset
headset-call-buttons = Call buttons
headset-call-buttons-hint = The headset button answers and hangs up; Flash holds.
headset-mute-sync = Mute sync
headset-mute-sync-hint = Mute on the headset mutes the call, and the other way round.
headset-leds = LEDs and ringer
headset-leds-hint = The headset shows off-hook, ringing, mute and hold.
headset-ring-on-headset = Ring on the headset
headset-ring-on-headset-hint = Incoming calls ring on the headset as well.
headset-state-connected = Connected
headset-state-searching = No headset with call buttons found
headset-state-off = Headset integration is off
headset-state-problem = Found, but it cannot be used
headset-state-stopped = Not started
headset-audio = (audio: { $device })
headset-enabled = Headset integration
headset-enabled-explain = Switch it off to tell a headset problem from a network problem.
headset-looking = Looking for the headset…

## Settings → Accounts

accounts-title = Accounts
accounts-add = Add account
accounts-added = Added { $name }.
accounts-saved = Saved { $name }.
accounts-removed = Removed { $name }.
accounts-transport = Transport { $transport }
accounts-via = via { $registrar }
accounts-no-registrar = no registrar (direct calls only)
accounts-auth-user = auth user { $user }
accounts-dial-prefix = dial prefix { $prefix }
accounts-default = default account
accounts-empty = No accounts yet. Add your SIP account to get started.
accounts-edit-label = Edit { $name }
accounts-edit = Edit
accounts-remove-label = Remove { $name }
accounts-remove = Remove
accounts-confirm-label = Confirm removal
accounts-confirm = Remove { $name }? Its stored password is deleted too.
accounts-removing = Removing…
accounts-keep = Keep it

account-form-edit-title = Edit { $name }
account-form-add-title = Add an account
account-form-display-name = Display name
account-form-required = (required)
account-form-display-name-placeholder = Alice Example
account-form-sip-address = SIP address
account-form-auth-user = Auth user
account-form-auth-user-placeholder = same as SIP address user
account-form-password = Password
account-form-password-keep-none = Leave empty to keep the account without a password.
account-form-password-keep = Leave empty to keep the stored password.
account-form-password-keyring = Saved in the system keyring, never in the config file. Leave empty if the account needs none.
account-form-password-session = No system keyring: the password is kept for this session only. Leave empty if the account needs none.
account-form-forget-password = Forget the stored password
account-form-registrar = Registrar / proxy
account-form-registrar-placeholder = none — direct calls only
account-form-transport = Transport
account-form-dial-prefix = Dial prefix
account-form-dial-prefix-placeholder = none
account-form-dial-prefix-invalid = Only digits, * and # can make a dial prefix.
account-form-dial-prefix-help = Optional. A number typed with this prefix is called from this account, prefix removed: with 9, typing 90301234 calls 0301234.
account-form-default = Default account
account-form-default-text = Numbers without a matching prefix are called from this account
account-form-saving = Saving…
account-form-save = Save changes
account-form-add = Add account
account-form-cancel = Cancel
account-form-required-both = Please fill in the display name and the SIP address.
account-form-required-name = Please fill in the display name.
account-form-required-address = Please fill in the SIP address.
account-form-required-hint = Display name and SIP address are required; the other fields are optional.
account-form-prefix-error = The dial prefix may contain only digits, * and #.
account-form-prefix-error-hint = Leave it empty for no prefix, or use something like 9 or *7.

## Settings → Audio

audio-title = Audio
audio-refresh = Refresh
audio-test-heard = The microphone picked up sound (loudest { $db } dB).
audio-test-silent = The microphone stayed silent: check that it is plugged in and not muted, or choose another one.
audio-role-microphone = Microphone
audio-role-speaker = Speaker
audio-role-ring = Ringing on
audio-saved = Saved. Calls use it from the next call on.
audio-channels = { $count ->
    [one] { $count } channel
   *[other] { $count } channels
}
audio-system-default = System default
audio-system-default-now = System default (now { $device })
audio-not-connected = { $device } (not connected)
audio-none-found = None found.
audio-default = default
audio-testing = Testing…
audio-test = Test speaker and microphone
audio-test-explain = Plays a tone on the speaker for three seconds and shows what the microphone hears.
audio-looking = Looking for audio devices…
audio-no-devices = No audio devices found
audio-no-devices-hint = Connect a headset or speakers, or check the sound settings of your system, then press Refresh.
audio-host = Audio system: { $host }. “System default” follows the device your system marks as default.
audio-inputs = Microphones (inputs)
audio-outputs = Speakers and headsets (outputs)

## Contacts

contact-form-edit = Edit { $name }
contact-form-new = New contact
contact-form-name = Name
contact-form-address = SIP address or number
contact-form-address-placeholder = sip:bob@example.com or +44 20 7946 0958
contact-form-note = Note
contact-form-save = Save
contact-form-cancel = Cancel
contacts-title = Contacts
contacts-my-status = My status
contacts-status-note-label = Status note
contacts-status-note-placeholder = Note (optional)
contacts-set-status = Set status
contacts-presence-needs-account = Presence works once an account is registered.
contacts-seen-as = Others see you as: { $status }
contacts-seen-offline = Offline (appearing offline)
contacts-search-label = Search contacts
contacts-search-placeholder = Search by name, address, number or note
contacts-add = Add contact
contacts-empty = No contacts yet. Add the people you call and chat with.
contacts-no-match = No contact matches “{ $query }”.
contacts-list = Contacts
contacts-chat-label = Chat with { $name }
contacts-chat = Chat
contacts-call-label = Call { $name }
contacts-call = Call
contacts-edit-label = Edit { $name }
contacts-edit = Edit
contacts-remove-label = Remove { $name }
contacts-remove = Remove
contacts-unread = { $count ->
    [one] { $count } unread message
   *[other] { $count } unread messages
}

chat-label = Chat with { $name }
chat-title = Chat with { $name }
chat-close = Close
chat-empty = No messages with { $name } yet.
chat-sending = Sending…
chat-delivered = Delivered
chat-failed = Not delivered
chat-input-label = Message to { $name }
chat-needs-account = Chat works once an account is registered
chat-placeholder = Message
chat-send = Send

## Diagnostics

diag-title = Diagnostics
diag-intro = Checks whether calls can get through your network, says in plain words what is wrong, and fixes what Homeline can fix by itself. The quick test takes about 8 seconds.
diag-testing = Testing…
diag-start = Test my connection
diag-background = Also measure how long my router keeps a call open (up to 4 more minutes)
diag-earlier-run = Earlier run, { $when }.
diag-took = Quick test took { NUMBER($seconds, minimumFractionDigits: 1, maximumFractionDigits: 1) } s.
diag-still-measuring = Still measuring how long your router keeps a call open…
diag-fix-all = Fix everything Homeline can
diag-export = Export report
diag-changed = Homeline changed its settings:
diag-undo = Undo
diag-nothing-changed = These settings were already in place: nothing changed.
diag-put-back = Put back as it was:
diag-exported = The report was saved as { $text } and { $json }.
diag-pending = { $check }: testing…
diag-pending-timeout = { $check }: measuring (up to 4 minutes)…
diag-about = About this installation
diag-no-info = Homeline could not tell its version and paths (see the message above).
diag-loading = Loading…
diag-what-to-do = What to do:
diag-fix-it = Fix it for me
diag-details = Details for IT support
diag-last-runs = Last runs
diag-no-runs = No test has run yet: press “Test my connection”.
diag-show = Show

plot-rtt = RTT (ms)
plot-jitter = Jitter (ms)
plot-lost = Lost packet
plot-burst-series = Loss burst
plot-x = Seconds into the test
plot-y = Milliseconds
plot-label = Round trip and jitter of each test packet
plot-failed = The plot could not be drawn here ({ $reason }).
plot-caption = Round trip and jitter of each test packet ({ $count ->
    [one] { $count } packet
   *[other] { $count } packets
}, 20 ms apart).
plot-bursts = Loss bursts (shaded red): { $bursts }.
plot-burst = { $count ->
    [one] { $count } packet
   *[other] { $count } packets
} at { NUMBER($from, minimumFractionDigits: 2, maximumFractionDigits: 2) }–{ NUMBER($to, minimumFractionDigits: 2, maximumFractionDigits: 2) } s
plot-no-bursts = No loss bursts.

## Voicemail indicator (Phone tab)
voicemail-new = { $count ->
    [one] { $count } new voicemail
   *[other] { $count } new voicemails
}
voicemail-urgent = ({ $count } urgent)
voicemail-old = , { $count } old
voicemail-none = No new voicemail
voicemail-call = Call voicemail

## Settings → Network

network-title = Network
network-loading = Reading the network settings…
network-stun = STUN servers (one per line)
network-stun-explain = They tell Homeline the public address of your connection. Leave empty to use none.
network-turn = TURN relays
network-turn-explain = When the other side cannot be reached directly, the audio goes through the fastest relay that works.
network-turn-none = No relay yet.
network-turn-uri = Address
network-turn-username = User name
network-turn-password = Password
network-turn-password-keep = Stored — type a new one to replace it
network-turn-password-stored = The password is stored in the system keyring.
network-turn-password-session = The password is kept for this session only: there is no system keyring.
network-turn-password-config = The password is in the settings file (less safe): type it again to move it to the system keyring.
network-turn-password-retype = The address or user name changed: type the password again, or the relay will have none.
network-turn-password-forget = Forget it
network-turn-password-forgotten = The stored password will be forgotten when you save.
network-turn-password-new = When you save, the new password goes to the system keyring, never into the settings file.
network-turn-password-none = No password stored.
network-turn-remove = Remove
network-turn-remove-label = Remove relay { $n }
network-turn-add = Add relay
network-force-relay = Always send audio through a relay
network-force-relay-explain = A little slower, but gets through strict firewalls and symmetric NATs. Needs a relay that works.
network-ice = Use ICE with phones that offer it
network-ice-explain = Not used by calls yet: for now each call picks its path itself (direct, or through a relay when needed) and the call screen says which. The switch is kept for when calls run ICE.
network-save = Save network settings
network-saving = Saving…
network-saved = Saved. The next call uses these settings.
network-test = Test relays
network-testing = Testing relays…
network-test-explain = Tries each saved relay over UDP, TCP and TLS and measures the round trip; it takes a few seconds.
network-test-nothing = Add a relay and save to test it.
network-test-used = Calls use { $host } over { $transport }.
network-test-none-works = No relay works: on a network that blocks direct audio, calls will have no sound.
network-test-none-configured = No relay is configured.
network-test-relay = Relay
network-test-transport = Connection
network-test-result = Result
network-test-rtt = Round trip
network-test-works = Works
network-test-fails = Does not work
network-test-used-tag = used by calls
network-test-ms = { $ms } ms

## How the call's audio travels (call screen); English is normally the core's own sentence
call-route-label = Audio path:
route-direct = Direct
route-host = Direct, on the local network
route-srflx = Through your router's public address
route-prflx = Through your router's public address (found by ICE)
route-relay = Through relay { $host } ({ $transport } { $port })
route-relay-unknown = Through a relay ({ $transport })
route-with-reason = { $route } because { $reason }
route-because-forced = the settings ask for a relay
route-because-symmetric_nat = your router changes the port for every destination
route-because-udp_blocked = UDP is blocked on this network

## The system tray and desktop notifications (said by the app's shell: src-tauri/src/texts.rs)

tray-show = Show Homeline
tray-echo = Echo test
tray-quit = Quit Homeline
tray-tooltip-idle = Homeline
tray-tooltip-ready = Homeline — ready for calls
tray-tooltip-connecting = Homeline — connecting…
tray-tooltip-problems = Homeline — { $problems } of { $accounts } accounts cannot register
tray-tooltip-missed = { $count ->
    [one] { $count } missed call
   *[other] { $count } missed calls
  }
notify-tray-title = Homeline is still running
notify-tray-body = Calls still ring here. Open Homeline from its icon in the tray; Quit is in its menu. To quit when the window closes, see Settings → General.
notify-incoming-title = Incoming call
notify-waiting-title = Call waiting
notify-incoming-body = { $who } is calling. Open Homeline to answer.
notify-message-title = Message from { $who }

## First run (Phone tab, no account yet)

first-run-title = Set up your phone
first-run-intro = Enter your SIP address and password. Homeline finds your provider's server and a way through your network itself.
first-run-address = SIP address
first-run-address-placeholder = bob@sip.example.com
first-run-password = Password
first-run-connect = Connect
first-run-connecting = Connecting…
first-run-bad-address = Enter your SIP address as name@provider, for example bob@sip.example.com.
first-run-bad-address-hint = Your provider's welcome e-mail or account page names it; it may be called SIP URI, SIP user or SIP login.
first-run-registering = Looking for the server of { $host } and registering…
first-run-registered = Registered: calls to and from { $address } work now.
first-run-failed = Homeline could not register with { $host }.
first-run-echo = Now try the echo test: what you say comes back a second later, so you hear your microphone and speakers.
first-run-done = Done
first-run-try-again = Try again
first-run-advanced = Does your provider give you a server, port or transport of its own?
