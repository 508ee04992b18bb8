# Homeline — русский.
# Идентификаторы и переменные ({ $…}) — как в en.ftl; числа склоняются по правилам CLDR:
# [one] 1, 21, 31…; [few] 2–4, 22–24…; [many] 0, 5–20, 25–30…; *[other] дробные.

## Вкладки и окно

tab-phone = Телефон
tab-contacts = Контакты
tab-diagnostics = Диагностика
tab-settings = Настройки
app-demo-badge = Демо-режим — без подключения к Homeline
app-call-indicator = Разговор с { $name } — показать
app-keyring-missing = Системное хранилище паролей не найдено: пароли хранятся только до закрытия программы, после перезапуска их спросят снова.

## Общие подписи

password-storage-keyring = Пароль в системном хранилище
password-storage-session = Пароль хранится до закрытия программы
password-storage-config = Пароль в файле настроек (менее надёжно)
password-storage-none = Без пароля
transport-auto = Авто
transport-udp = UDP
transport-tcp = TCP
transport-tls = TLS
transport-ws = WS (WebSocket)
transport-wss = WSS (защищённый WebSocket)
rate-khz = { NUMBER($rate, maximumFractionDigits: 1) } кГц

reg-direct = Только прямые звонки — без регистрации
reg-registered = Зарегистрирована
reg-registering = Регистрация…
reg-stopped = Попытки остановлены до изменения настроек
reg-retry-in = Новая попытка через { $seconds } с
reg-retry-now = Повторная попытка…
reg-failed = Ошибка
reg-unregistered = Не зарегистрирована

call-state-dialing = Вызов…
call-state-ringing = Идёт вызов…
call-state-waiting = Ожидающий звонок
call-state-incoming = Входящий звонок
call-state-connecting = Соединение…
call-state-on-hold = На удержании
call-state-remote-hold = Собеседник поставил вас на удержание
call-state-active = Соединено
call-state-ending = Завершение…
call-state-ended = Звонок завершён

outcome-answered = Принят
outcome-missed = Пропущен
outcome-rejected = Отклонён
outcome-declined = Отклонён собеседником
outcome-cancelled = Отменён
outcome-failed = Не удался
outcome-busy = Занято

ended-missed = Пропущенный звонок
ended-busy = Занято
ended-failed = Звонок не удался
ended-cancelled = Звонок отменён
ended-rejected = Звонок отклонён
ended-declined = Собеседник отклонил звонок
ended-default = Звонок завершён

echo-test-name = Эхо-тест
when-yesterday = Вчера { $time }
when-weekday = { $day } { $time }
when-date = { $date } { $time }
preview-direct = Прямой звонок на { $uri }
preview-calls = Звонок на { $uri } с учётной записи { $account }
preview-calls-rule = Звонок на { $uri } с учётной записи { $account } ({ $rule })
preview-rule-prefix = префикс { $prefix }

quality-unknown = Звука ещё нет
quality-good = Хорошее
quality-fair = Среднее
quality-poor = Плохое

presence-available = В сети
presence-away = Нет на месте
presence-busy = Занят / Не беспокоить
presence-on-the-phone = Разговаривает
presence-offline = Не в сети
presence-unknown = Неизвестно
presence-appear-offline = Невидимка

check-dns = Поиск имён (DNS)
check-udp = Интернет-трафик для звонков (UDP)
check-sip-ports = Связь с вашим SIP-провайдером
check-nat-type = Преобразование адресов в роутере (NAT)
check-sip-alg = Роутер вмешивается в звонки (SIP ALG)
check-nat-timeout = Сколько роутер помнит звонок
check-route = Маршрут ваших звонков
check-rtp = Голосовой канал
check-relays = Серверы-ретрансляторы
check-quality = Качество связи
check-audio = Микрофон и динамик
diag-status-ok = В порядке
diag-status-warning = Внимание
diag-status-problem = Проблема
diag-status-skipped = Не проверялось

## Ошибки, которые сообщает сам интерфейс, и ошибки ядра с известным кодом

error-unexpected-hint = Скорее всего, это ошибка в Homeline. Попробуйте ещё раз; если не поможет, выгрузите журналы (Настройки → Журналы) и сообщите нам.
error-no-reason = Что-то пошло не так, и Homeline не сообщил причину.
error-declined = Собеседник отклонил звонок.
error-declined-hint = Попробуйте позвонить позже.
error-busy = Занято
error-busy-hint = Собеседник разговаривает по другой линии. Попробуйте позвонить позже.
error-no_audio_received = От собеседника не приходит звук.
error-no_audio_received-hint = Возможно, звук блокирует брандмауэр или роутер. Попробуйте другую сеть или TCP либо TLS в настройках учётной записи.
error-empty_message = Сообщение пустое.
error-empty_message-hint = Напишите что-нибудь, чтобы отправить.
error-nothing_to_undo = Нечего отменять.
error-nothing_to_undo-hint = Исправления, внесённые проверкой связи, можно отменить до следующего исправления.

error-no_media = От собеседника не приходит звук.
error-no_media-hint = Мы отправляем звук, но ничего не получаем: скорее всего, брандмауэр или NAT блокирует входящий UDP. Запустите проверку связи или переключите учётную запись на ретранслятор через TCP/TLS.
error-media_stalled = Звук от собеседника перестал приходить.
error-media_stalled-hint = Звук от собеседника перестал приходить. Если он не вернётся, значит, изменился сетевой путь (переключение Wi-Fi, VPN) или собеседник потерял связь.
error-rtp_timeout = Звук не приходил целую минуту, поэтому звонок завершён.
error-rtp_timeout-hint = Собеседник или сеть оборвали звонок; позвоните ещё раз.
error-calls_stopped = Модуль звонков остановился.
error-calls_stopped-hint = Перезапустите Homeline; если это повторится, сообщите нам и приложите журнал.

# Ошибки регистрации. Переменные: $server, $transport (UDP, TCP, TLS, WS, WSS), $port; где есть:
# $user, $realm, $detail (слова системы, по-английски), $code и $reason (ответ сервера),
# $server_error (yes для ответа 5xx).
error-wrong_credentials = Неверное имя пользователя или пароль: { $server } не принял учётные данные «{ $user }» (область «{ $realm }»).
error-wrong_credentials-hint = Проверьте имя пользователя, пользователя для аутентификации и пароль в настройках учётной записи. Homeline прекратил попытки, чтобы провайдер вас не заблокировал.
error-password_required = { $server } требует пароль (область «{ $realm }»), а он не задан.
error-password_required-hint = Введите пароль в настройках учётной записи.
error-unsupported_auth = { $server } требует способ аутентификации, который Homeline не поддерживает.
error-unsupported_auth-hint = Спросите провайдера, можно ли использовать дайджест-аутентификацию MD5 или SHA-256.
error-no_answer = Нет ответа от { $server } ({ $transport }, порт { $port }).
error-no_answer-hint = Возможно, сервер не работает. { $transport ->
    [UDP] UDP-порт { $port } может блокировать брандмауэр или провайдер: выберите TCP или TLS в поле «Транспорт» учётной записи или другой порт (5060, 6060, 8080).
   *[other] Порт { $port } может блокировать брандмауэр: проверьте адрес и порт сервера или выберите другой транспорт.
  }
error-forbidden = { $server } отказал в регистрации (ответ 403; { $transport }, порт { $port }).
error-forbidden-hint = Возможно, учётная запись отключена или не разрешена из этой сети; обратитесь к провайдеру.
error-transport_error = Не удалось связаться с { $server } ({ $transport }, порт { $port }): { $detail }.
error-transport_error-hint = { $transport ->
    [UDP] UDP-порт { $port } может блокировать брандмауэр или провайдер: выберите TCP или TLS в поле «Транспорт» учётной записи или другой порт (5060, 6060, 8080).
   *[other] Порт { $port } может блокировать брандмауэр: проверьте адрес и порт сервера или выберите другой транспорт.
  }
error-rejected = { $server } ответил { $code } { $reason } ({ $transport }, порт { $port }).
error-rejected-hint = { $server_error ->
    [yes] На сервере неполадки; Homeline сам повторит попытку позже.
   *[no] Проверьте настройки учётной записи; если они верны, спросите провайдера, что означает этот ответ.
  }
error-interval_too_brief = { $server } и Homeline не смогли договориться об интервале регистрации.
error-interval_too_brief-hint = Спросите провайдера, какой интервал регистрации он принимает.
error-server_not_found = Не удалось найти { $host } в DNS: { $why ->
    [no_such_name] такого имени нет
    [no_address] у имени нет адреса
    [timeout] DNS-сервер не ответил вовремя
    [unreachable] ни один DNS-сервер недоступен
    [refused] DNS-сервер отказал в запросе или не смог его выполнить
    [no_resolver] на этом компьютере не настроен DNS-сервер
   *[failed] запрос DNS не удался
  }.
error-server_not_found-hint = Проверьте имя сервера регистрации в настройках учётной записи и подключение к интернету.

## Вкладка «Телефон»

phone-title = Телефон
phone-loading-accounts = Загрузка учётных записей…
phone-empty-title = Учётных записей пока нет
phone-empty-echo = А пока эхо-тест проверит микрофон и динамики: вы услышите то, что скажете.
phone-go-to-settings = Открыть настройки
phone-echo-test = Эхо-тест
phone-accounts-title = Ваши учётные записи
phone-tag-default = по умолчанию
phone-tag-prefix = префикс { $prefix }

## Набор номера и клавиатура

dialer-title = Набор номера
dialer-input-label = Номер или SIP-адрес
dialer-placeholder = Номер или sip:имя@сервер
dialer-backspace = Удалить последний символ
dialer-call = Позвонить
dialer-calling = Вызов…
dialer-empty = Введите номер или SIP-адрес либо наберите его на клавиатуре.
dialer-checking = Проверка…
dialer-keypad = Клавиатура
dialer-echo-explain = Услышьте себя, чтобы проверить микрофон и динамики; учётная запись не нужна.
key-star = звёздочка
key-hash = решётка

## Экран звонка

call-via = через { $account }
call-via-echo = Встроенная эхо-линия
call-via-direct = Прямой звонок
call-duration = Длительность звонка
call-controls = Управление звонком
call-mute = Выключить микрофон
call-unmute = Включить микрофон
call-hold = Удержать
call-resume = Снять с удержания
call-keypad = Клавиатура
call-hangup = Положить трубку
call-keypad-tones = Клавиатура: тоновый набор
call-tones-explain = Нажимайте клавиши, чтобы отправить тоновые сигналы, например в голосовое меню.
call-tones-sent = Отправлено: { $tones }
call-levels = Уровни звука
call-microphone = Микрофон
call-speaker = Динамик
call-others = Другие звонки
call-switch-to-label = Переключиться на звонок с { $name }
call-hangup-label = Завершить звонок с { $name }
call-resume-this = Вернуться к этому звонку
call-switch-to = Переключиться

## Журнал звонков

history-title = Недавние звонки
history-clear = Очистить журнал
history-confirm-label = Подтвердите очистку журнала
history-confirm = { $count ->
    [one] Удалить из журнала { $count } звонок?
    [few] Удалить из журнала { $count } звонка?
   *[many] Удалить из журнала { $count } звонков?
}
history-clearing = Очистка…
history-clear-confirm = Очистить
history-keep = Оставить
history-loading = Загрузка журнала…
history-empty = Звонков пока не было.
history-incoming = Входящий
history-outgoing = Исходящий
history-missed-call = Пропущенный звонок:
history-incoming-call = Входящий звонок:
history-outgoing-call = Исходящий звонок:
history-via = через { $account }
history-hang-up-first = Сначала завершите текущий звонок
history-call-back-label = Перезвонить: { $name }
history-call-back = Перезвонить

## После звонка

ended-dismiss = Скрыть
ended-back = К набору номера

## Входящий звонок

incoming-waiting = Ожидающий звонок
incoming-call = Входящий звонок
incoming-to = Звонок на { $account }
incoming-direct = Прямой звонок
incoming-answer-hold = Ответить, текущий удержать
incoming-answer = Ответить
incoming-reject = Отклонить

## Качество связи и уровни

quality-label = Качество: { $quality }
quality-mos = MOS { NUMBER($mos, minimumFractionDigits: 1, maximumFractionDigits: 1) } из 4,5
quality-codec = Кодек
quality-codec-none = ещё не согласован
quality-loss = Потери
quality-jitter = Джиттер
quality-rtt = Задержка (туда и обратно)
quality-rtt-unknown = неизвестно
quality-encryption = Шифрование
quality-encrypted = Зашифровано (SRTP)
quality-not-encrypted = Не зашифровано
quality-waiting = Показатели появятся, когда в звонке пойдёт звук.
level-muted = Выключен
level-no-sound = Нет звука
level-silent = Тишина
unit-percent = { NUMBER($value, maximumFractionDigits: 1) } %
unit-ms = { NUMBER($value, maximumFractionDigits: 1) } мс
level-db = { $db } дБ

## О программе (Настройки → Общие)

info-version = Версия
info-config = Файл настроек
info-logs = Папка журналов
info-password-storage = Хранение паролей
info-keyring = Системное хранилище доступно — { $backend }
info-no-keyring = Системного хранилища нет — { $message }
info-no-keyring-default = пароли хранятся только до закрытия программы.

## Настройки

settings-title = Настройки
settings-about = О программе
settings-no-info = Homeline не смог определить свою версию и пути.
settings-licence = Homeline — свободная программа под лицензией MIT или Apache-2.0.

general-title = Общие
general-language = Язык
general-language-system = Как в системе
general-autostart = Запускать Homeline при входе в систему
general-quit-on-close = Выходить при закрытии окна
general-tray-explain = Иначе при закрытии окна Homeline продолжает работать в системном трее, и звонки по-прежнему поступают. Выйти можно через меню значка в трее.
general-quit-on = Теперь закрытие окна завершает Homeline.
general-quit-off = Теперь после закрытия окна Homeline продолжает работать в трее.
general-autostart-on = Homeline будет запускаться при входе в систему.
general-autostart-off = Homeline больше не будет запускаться сам.

logs-title = Журналы
logs-explain = Homeline ведёт журнал, чтобы помочь найти неполадки; пароли в него никогда не записываются.
logs-folder = Папка:
logs-open = Открыть папку журналов
logs-exporting = Выгрузка…
logs-export = Выгрузить журналы
logs-saved-to = Журналы сохранены в

headset-title = Гарнитура
headset-call-buttons = Кнопки вызова
headset-call-buttons-hint = Кнопка гарнитуры принимает и завершает звонок; Flash ставит на удержание.
headset-mute-sync = Синхронизация микрофона
headset-mute-sync-hint = Выключение микрофона на гарнитуре выключает его в звонке, и наоборот.
headset-leds = Индикаторы и звонок
headset-leds-hint = Гарнитура показывает снятую трубку, вызов, выключенный микрофон и удержание.
headset-ring-on-headset = Звонок в гарнитуре
headset-ring-on-headset-hint = Входящие звонки слышны и в гарнитуре.
headset-state-connected = Подключена
headset-state-searching = Гарнитура с кнопками вызова не найдена
headset-state-off = Поддержка гарнитуры выключена
headset-state-problem = Найдена, но использовать её нельзя
headset-state-stopped = Не запущена
headset-audio = (звук: { $device })
headset-enabled = Поддержка гарнитуры
headset-enabled-explain = Выключите её, чтобы отличить неполадку гарнитуры от неполадки сети.
headset-looking = Поиск гарнитуры…

## Настройки → Учётные записи

accounts-title = Учётные записи
accounts-add = Добавить учётную запись
accounts-added = Учётная запись { $name } добавлена.
accounts-saved = Учётная запись { $name } сохранена.
accounts-removed = Учётная запись { $name } удалена.
accounts-transport = Транспорт { $transport }
accounts-via = через { $registrar }
accounts-no-registrar = без регистратора (только прямые звонки)
accounts-auth-user = логин { $user }
accounts-dial-prefix = префикс набора { $prefix }
accounts-default = учётная запись по умолчанию
accounts-empty = Учётных записей пока нет. Добавьте свою SIP-учётную запись, чтобы начать.
accounts-edit-label = Изменить { $name }
accounts-edit = Изменить
accounts-remove-label = Удалить { $name }
accounts-remove = Удалить
accounts-confirm-label = Подтвердите удаление
accounts-confirm = Удалить { $name }? Сохранённый пароль тоже будет удалён.
accounts-removing = Удаление…
accounts-keep = Оставить

account-form-edit-title = Изменить { $name }
account-form-add-title = Новая учётная запись
account-form-display-name = Отображаемое имя
account-form-required = (обязательно)
account-form-display-name-placeholder = Анна Иванова
account-form-sip-address = SIP-адрес
account-form-auth-user = Логин для входа
account-form-auth-user-placeholder = как в SIP-адресе
account-form-password = Пароль
account-form-password-keep-none = Оставьте пустым, чтобы учётная запись была без пароля.
account-form-password-keep = Оставьте пустым, чтобы сохранить прежний пароль.
account-form-password-keyring = Хранится в системном хранилище паролей, а не в файле настроек. Оставьте пустым, если пароль не нужен.
account-form-password-session = Системного хранилища нет: пароль хранится только до закрытия программы. Оставьте пустым, если пароль не нужен.
account-form-forget-password = Забыть сохранённый пароль
account-form-registrar = Регистратор / прокси
account-form-registrar-placeholder = нет — только прямые звонки
account-form-transport = Транспорт
account-form-dial-prefix = Префикс набора
account-form-dial-prefix-placeholder = нет
account-form-dial-prefix-invalid = Префикс набора может состоять только из цифр, * и #.
account-form-dial-prefix-help = Необязательно. Номер, набранный с этим префиксом, звонится с этой учётной записи без префикса: с префиксом 9 набор 90301234 вызывает 0301234.
account-form-default = Учётная запись по умолчанию
account-form-default-text = Номера без подходящего префикса звонятся с этой учётной записи
account-form-saving = Сохранение…
account-form-save = Сохранить изменения
account-form-add = Добавить учётную запись
account-form-cancel = Отмена
account-form-required-both = Заполните отображаемое имя и SIP-адрес.
account-form-required-name = Заполните отображаемое имя.
account-form-required-address = Заполните SIP-адрес.
account-form-required-hint = Отображаемое имя и SIP-адрес обязательны, остальные поля — по желанию.
account-form-prefix-error = Префикс набора может содержать только цифры, * и #.
account-form-prefix-error-hint = Оставьте поле пустым, если префикс не нужен, или укажите, например, 9 или *7.

## Настройки → Звук

audio-title = Звук
audio-refresh = Обновить
audio-test-heard = Микрофон уловил звук (громче всего { $db } дБ).
audio-test-silent = Микрофон молчал: проверьте, что он подключён и не выключен, или выберите другой.
audio-role-microphone = Микрофон
audio-role-speaker = Динамик
audio-role-ring = Сигнал вызова
audio-saved = Сохранено. Будет использоваться со следующего звонка.
audio-channels = { $count ->
    [one] { $count } канал
    [few] { $count } канала
   *[many] { $count } каналов
}
audio-system-default = Как в системе
audio-system-default-now = Как в системе (сейчас { $device })
audio-not-connected = { $device } (не подключено)
audio-none-found = Ничего не найдено.
audio-default = по умолчанию
audio-testing = Проверка…
audio-test = Проверить динамик и микрофон
audio-test-explain = Три секунды играет тон в динамике и показывает, что слышит микрофон.
audio-looking = Поиск звуковых устройств…
audio-no-devices = Звуковые устройства не найдены
audio-no-devices-hint = Подключите гарнитуру или колонки либо проверьте настройки звука в системе, затем нажмите «Обновить».
audio-host = Звуковая система: { $host }. «Как в системе» — это устройство, которое система отмечает как основное.
audio-inputs = Микрофоны (вход)
audio-outputs = Динамики и гарнитуры (выход)

## Контакты

contact-form-edit = Изменить { $name }
contact-form-new = Новый контакт
contact-form-name = Имя
contact-form-address = SIP-адрес или номер
contact-form-address-placeholder = sip:bob@example.com или +7 495 123-45-67
contact-form-note = Заметка
contact-form-save = Сохранить
contact-form-cancel = Отмена
contacts-title = Контакты
contacts-my-status = Мой статус
contacts-status-note-label = Пояснение к статусу
contacts-status-note-placeholder = Пояснение (необязательно)
contacts-set-status = Установить статус
contacts-presence-needs-account = Статусы заработают, когда учётная запись зарегистрируется.
contacts-seen-as = Другие видят вас так: { $status }
contacts-seen-offline = Не в сети (невидимка)
contacts-search-label = Поиск контактов
contacts-search-placeholder = Поиск по имени, адресу, номеру или заметке
contacts-add = Добавить контакт
contacts-empty = Контактов пока нет. Добавьте тех, кому вы звоните и пишете.
contacts-no-match = Нет контактов по запросу «{ $query }».
contacts-list = Контакты
contacts-chat-label = Чат с { $name }
contacts-chat = Чат
contacts-call-label = Позвонить: { $name }
contacts-call = Позвонить
contacts-edit-label = Изменить { $name }
contacts-edit = Изменить
contacts-remove-label = Удалить { $name }
contacts-remove = Удалить
contacts-unread = { $count ->
    [one] { $count } непрочитанное сообщение
    [few] { $count } непрочитанных сообщения
   *[many] { $count } непрочитанных сообщений
}

chat-label = Чат с { $name }
chat-title = Чат с { $name }
chat-close = Закрыть
chat-empty = Сообщений с { $name } пока нет.
chat-sending = Отправка…
chat-delivered = Доставлено
chat-failed = Не доставлено
chat-input-label = Сообщение для { $name }
chat-needs-account = Чат заработает, когда учётная запись зарегистрируется
chat-placeholder = Сообщение
chat-send = Отправить

## Диагностика

diag-title = Диагностика
diag-intro = Проверяет, проходят ли звонки через вашу сеть, простыми словами объясняет, что не так, и исправляет то, что Homeline может исправить сам. Быстрая проверка занимает около 8 секунд.
diag-testing = Проверка…
diag-start = Проверить связь
diag-background = Также измерить, сколько роутер держит звонок открытым (ещё до 4 минут)
diag-earlier-run = Прошлая проверка, { $when }.
diag-took = Быстрая проверка заняла { NUMBER($seconds, minimumFractionDigits: 1, maximumFractionDigits: 1) } с.
diag-still-measuring = Всё ещё измеряем, сколько роутер держит звонок открытым…
diag-fix-all = Исправить всё, что может Homeline
diag-export = Сохранить отчёт
diag-changed = Homeline изменил настройки:
diag-undo = Отменить
diag-nothing-changed = Эти настройки уже были такими: ничего не изменилось.
diag-put-back = Возвращено как было:
diag-exported = Отчёт сохранён в { $text } и { $json }.
diag-pending = { $check }: проверка…
diag-pending-timeout = { $check }: измерение (до 4 минут)…
diag-about = Об этой установке
diag-no-info = Homeline не смог определить свою версию и пути (см. сообщение выше).
diag-loading = Загрузка…
diag-what-to-do = Что сделать:
diag-fix-it = Исправить
diag-details = Подробности для техподдержки
diag-last-runs = Последние проверки
diag-no-runs = Проверок ещё не было: нажмите «Проверить связь».
diag-show = Показать

plot-rtt = Задержка (мс)
plot-jitter = Джиттер (мс)
plot-lost = Потерянный пакет
plot-burst-series = Серия потерь
plot-x = Секунды от начала проверки
plot-y = Миллисекунды
plot-label = Задержка и джиттер каждого тестового пакета
plot-failed = Здесь не удалось построить график ({ $reason }).
plot-caption = Задержка и джиттер каждого тестового пакета ({ $count ->
    [one] { $count } пакет
    [few] { $count } пакета
   *[many] { $count } пакетов
}, с интервалом 20 мс).
plot-bursts = Серии потерь (закрашены красным): { $bursts }.
plot-burst = { $count ->
    [one] { $count } пакет
    [few] { $count } пакета
   *[many] { $count } пакетов
} на { NUMBER($from, minimumFractionDigits: 2, maximumFractionDigits: 2) }–{ NUMBER($to, minimumFractionDigits: 2, maximumFractionDigits: 2) } с
plot-no-bursts = Серий потерь нет.

## Voicemail indicator (Phone tab)
voicemail-new = { $count ->
    [one] { $count } новое голосовое сообщение
    [few] { $count } новых голосовых сообщения
   *[many] { $count } новых голосовых сообщений
}
voicemail-urgent = (срочных: { $count })
voicemail-old = , прослушанных: { $count }
voicemail-none = Новых голосовых сообщений нет
voicemail-call = Позвонить на голосовую почту

## Настройки → Сеть

network-title = Сеть
network-loading = Читаем сетевые настройки…
network-stun = Серверы STUN (по одному в строке)
network-stun-explain = Они сообщают Homeline внешний адрес вашего подключения. Оставьте поле пустым, если они не нужны.
network-turn = Ретрансляторы TURN
network-turn-explain = Если до собеседника нельзя достучаться напрямую, звук идёт через самый быстрый из работающих ретрансляторов.
network-turn-none = Ретрансляторов пока нет.
network-turn-uri = Адрес
network-turn-username = Имя пользователя
network-turn-password = Пароль
network-turn-password-keep = Сохранён — введите новый, чтобы заменить
network-turn-password-stored = Пароль хранится в системном хранилище паролей.
network-turn-password-session = Пароль хранится только до закрытия программы: системного хранилища паролей нет.
network-turn-password-config = Пароль записан в файле настроек (это менее надёжно): введите его снова, чтобы перенести в системное хранилище паролей.
network-turn-password-retype = Адрес или имя пользователя изменились: введите пароль заново, иначе ретранслятор останется без пароля.
network-turn-password-forget = Удалить его
network-turn-password-forgotten = Сохранённый пароль будет удалён при сохранении.
network-turn-password-new = При сохранении новый пароль попадёт в системное хранилище паролей, а не в файл настроек.
network-turn-password-none = Пароль не сохранён.
network-turn-remove = Убрать
network-turn-remove-label = Убрать ретранслятор { $n }
network-turn-add = Добавить ретранслятор
network-force-relay = Всегда передавать звук через ретранслятор
network-force-relay-explain = Чуть медленнее, зато проходит через строгие брандмауэры и симметричный NAT. Нужен работающий ретранслятор.
network-ice = Использовать ICE с телефонами, которые его поддерживают
network-ice-explain = Пока не используется в звонках: сейчас каждый звонок сам выбирает путь (напрямую или, когда нужно, через ретранслятор), а экран звонка показывает какой. Переключатель сохранится, когда звонки начнут использовать ICE.
network-save = Сохранить сетевые настройки
network-saving = Сохранение…
network-saved = Сохранено. Следующий звонок пойдёт с этими настройками.
network-test = Проверить ретрансляторы
network-testing = Проверяем ретрансляторы…
network-test-explain = Пробует каждый сохранённый ретранслятор по UDP, TCP и TLS и измеряет время отклика; это займёт несколько секунд.
network-test-nothing = Добавьте ретранслятор и сохраните, чтобы его проверить.
network-test-used = Звонки идут через { $host } по { $transport }.
network-test-none-works = Ни один ретранслятор не работает: в сети, которая блокирует прямую передачу звука, собеседников не будет слышно.
network-test-none-configured = Ретрансляторы не настроены.
network-test-relay = Ретранслятор
network-test-transport = Подключение
network-test-result = Результат
network-test-rtt = Время отклика
network-test-works = Работает
network-test-fails = Не работает
network-test-used-tag = используется для звонков
network-test-ms = { $ms } мс

## How the call's audio travels (call screen); English is normally the core's own sentence
call-route-label = Путь звука:
route-direct = Напрямую
route-host = Напрямую, в локальной сети
route-srflx = Через внешний адрес вашего роутера
route-prflx = Через внешний адрес вашего роутера (найден ICE)
route-relay = Через ретранслятор { $host } ({ $transport } { $port })
route-relay-unknown = Через ретранслятор ({ $transport })
route-with-reason = { $route }, потому что { $reason }
route-because-forced = так указано в настройках
route-because-symmetric_nat = ваш роутер меняет порт для каждого адресата
route-because-udp_blocked = в этой сети заблокирован UDP

## Значок в трее и уведомления (их показывает оболочка приложения: src-tauri/src/texts.rs)

tray-show = Показать Homeline
tray-echo = Эхо-тест
tray-quit = Выйти из Homeline
tray-tooltip-idle = Homeline
tray-tooltip-ready = Homeline — готов к звонкам
tray-tooltip-connecting = Homeline — подключение…
tray-tooltip-problems = Homeline — { $problems } из { $accounts ->
    [one] { $accounts } учётной записи
   *[other] { $accounts } учётных записей
  } { $problems ->
    [one] не может
   *[other] не могут
  } зарегистрироваться
tray-tooltip-missed = { $count ->
    [one] { $count } пропущенный звонок
    [few] { $count } пропущенных звонка
   *[many] { $count } пропущенных звонков
  }
notify-tray-title = Homeline продолжает работать
notify-tray-body = Звонки по-прежнему поступают. Открыть Homeline можно значком в трее, выйти — через его меню. Чтобы приложение закрывалось вместе с окном, откройте Настройки → Общие.
notify-incoming-title = Входящий звонок
notify-waiting-title = Ожидающий звонок
notify-incoming-body = Звонит { $who }. Откройте Homeline, чтобы ответить.
notify-message-title = Сообщение от { $who }

## Первый запуск (вкладка «Телефон», учётных записей нет)

first-run-title = Настройка телефона
first-run-intro = Введите SIP-адрес и пароль. Homeline сам найдёт сервер провайдера и путь через вашу сеть.
first-run-address = SIP-адрес
first-run-address-placeholder = bob@sip.example.com
first-run-password = Пароль
first-run-connect = Подключить
first-run-connecting = Подключение…
first-run-bad-address = Введите SIP-адрес в виде имя@провайдер, например bob@sip.example.com.
first-run-bad-address-hint = Он указан в приветственном письме провайдера или в личном кабинете; его могут называть SIP URI, SIP-пользователь или SIP-логин.
first-run-registering = Поиск сервера { $host } и регистрация…
first-run-registered = Регистрация выполнена: звонки на { $address } и с него теперь работают.
first-run-failed = Homeline не удалось зарегистрироваться на { $host }.
first-run-echo = Теперь проверьте эхо-тест: сказанное вернётся через секунду, и вы услышите свой микрофон и динамики.
first-run-done = Готово
first-run-try-again = Попробовать снова
first-run-advanced = Провайдер дал вам свой сервер, порт или транспорт?
