//! What the shell says itself — the tray's menu and tooltip, the desktop notifications — in the
//! language the UI uses. The words come from the UI's own Fluent catalogs (`ui/src/locales`,
//! compiled in), read with Project Fluent's Rust implementation, so there is one set of
//! translations and the same CLDR plural rules on both sides. The UI tells the shell its
//! language when it starts and whenever it changes (`set_language`); until then, English.

use std::collections::HashMap;
use std::sync::RwLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// The catalogs, by the UI's locale codes.
const CATALOGS: &[(&str, &str)] = &[
    ("en", include_str!("../../ui/src/locales/en.ftl")),
    ("ru", include_str!("../../ui/src/locales/ru.ftl")),
    ("zh-CN", include_str!("../../ui/src/locales/zh-CN.ftl")),
];

/// The shell's words in the language in use. See the module docs.
pub struct Texts {
    bundles: HashMap<&'static str, FluentBundle<FluentResource>>,
    locale: RwLock<&'static str>,
}

impl Default for Texts {
    fn default() -> Self {
        let mut bundles = HashMap::new();
        for &(code, source) in CATALOGS {
            let lang: LanguageIdentifier = code.parse().unwrap_or_default();
            let mut bundle = FluentBundle::new_concurrent(vec![lang]);
            // As in the UI: names and numbers are shown as they are, without isolation marks.
            bundle.set_use_isolating(false);
            match FluentResource::try_new(source.to_owned()) {
                Ok(res) => {
                    if let Err(errors) = bundle.add_resource(res) {
                        tracing::warn!(locale = code, ?errors, "catalog messages left out");
                    }
                }
                Err((res, errors)) => {
                    tracing::warn!(locale = code, count = errors.len(), "catalog syntax errors");
                    let _ = bundle.add_resource(res);
                }
            }
            bundles.insert(code, bundle);
        }
        Self {
            bundles,
            locale: RwLock::new("en"),
        }
    }
}

impl std::fmt::Debug for Texts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Texts")
            .field("locale", &self.locale())
            .finish()
    }
}

impl Texts {
    /// Uses `locale` (one of the UI's codes) from now on; `false` for one we do not have (the
    /// language stays as it was).
    pub fn set_locale(&self, locale: &str) -> bool {
        let Some((&code, _)) = self.bundles.get_key_value(locale) else {
            return false;
        };
        *self.locale.write().unwrap_or_else(|e| e.into_inner()) = code;
        true
    }

    /// The language in use.
    pub fn locale(&self) -> &'static str {
        *self.locale.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Message `id` in the language in use with `args`; English where that catalog lacks it,
    /// the id itself if no catalog has it.
    pub fn say(&self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let mut fargs = FluentArgs::new();
        for (k, v) in args {
            fargs.set(*k, v.clone());
        }
        for code in [self.locale(), "en"] {
            let Some(bundle) = self.bundles.get(code) else {
                continue;
            };
            let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
                continue;
            };
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, Some(&fargs), &mut errors);
            if !errors.is_empty() {
                tracing::debug!(id, locale = code, ?errors, "message formatted with errors");
            }
            return text.into_owned();
        }
        tracing::warn!(id, "no such message in the catalogs");
        id.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message the shell says (the tests check each is in every catalog).
    const IDS: &[&str] = &[
        "tray-show",
        "tray-echo",
        "tray-quit",
        "tray-tooltip-idle",
        "tray-tooltip-ready",
        "tray-tooltip-connecting",
        "tray-tooltip-problems",
        "tray-tooltip-missed",
        "notify-tray-title",
        "notify-tray-body",
        "notify-incoming-title",
        "notify-waiting-title",
        "notify-incoming-body",
        "notify-message-title",
    ];

    #[test]
    fn every_message_of_the_shell_is_in_every_catalog_without_errors() {
        let t = Texts::default();
        for &(code, _) in CATALOGS {
            let bundle = &t.bundles[code];
            for id in IDS {
                let msg = bundle.get_message(id);
                assert!(
                    msg.and_then(|m| m.value()).is_some(),
                    "{code}.ftl lacks {id}"
                );
            }
        }
    }

    #[test]
    fn says_the_tray_and_notifications_in_the_language_in_use_with_plurals() {
        let t = Texts::default();
        assert_eq!(t.locale(), "en");
        assert_eq!(t.say("tray-show", &[]), "Show Homeline");
        let missed = |n: i64| t.say("tray-tooltip-missed", &[("count", n.into())]);
        assert_eq!(missed(1), "1 missed call");
        assert_eq!(missed(3), "3 missed calls");
        assert!(t.set_locale("ru"));
        assert_eq!(t.say("tray-quit", &[]), "Выйти из Homeline");
        let missed = |n: i64| t.say("tray-tooltip-missed", &[("count", n.into())]);
        assert_eq!(missed(1), "1 пропущенный звонок");
        assert_eq!(missed(3), "3 пропущенных звонка");
        assert_eq!(missed(5), "5 пропущенных звонков");
        assert_eq!(missed(21), "21 пропущенный звонок");
        assert_eq!(
            t.say("notify-incoming-body", &[("who", "Иван".into())]),
            "Звонит Иван. Откройте Homeline, чтобы ответить."
        );
        assert!(t.set_locale("zh-CN"));
        assert_eq!(
            t.say(
                "tray-tooltip-problems",
                &[("problems", 1.into()), ("accounts", 2.into())]
            ),
            "Homeline — 2 个账户中有 1 个无法注册"
        );
        // A language we do not have leaves the one in use.
        assert!(!t.set_locale("de"));
        assert_eq!(t.locale(), "zh-CN");
    }
}
