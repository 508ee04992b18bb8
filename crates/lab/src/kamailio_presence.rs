//! kamailio's presence and offline-message modules for the lab
//! (`KamailioConfig::presence`): `presence` + `presence_xml` (PUBLISH, SUBSCRIBE /
//! NOTIFY of the `presence` event, RFC 3856/3903; subscriptions in memory), `presence_mwi`
//! (the `message-summary` event, RFC 3842: a voicemail system PUBLISHes the counts, the
//! user's phone SUBSCRIBEs to its own address) and `msilo`
//! (a MESSAGE for a user who is not registered is stored, answered `202 Accepted`, and
//! delivered when the user registers).
//!
//! Facts from trial runs (kamailio 5.6, Debian): `db_text` from the core package is enough;
//! msilo on db_text needs `callid` and `status` nullable in its `silo` table; msilo's
//! `outbound_proxy` must name the proxy itself (else it sends to port 5060 of the target);
//! `add_date` is off so that stored text arrives byte-exact.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;

use crate::error::{LabError, Result};

/// Placeholder for the db_text directory in the rendered script, filled in by
/// [`write_db`]'s caller once the lab's directory is known.
pub(crate) const DB_DIR: &str = "@DBDIR@";

/// db_text tables (first line: the columns; the `version` table lists the others).
const TABLES: &[(&str, &str, u32)] = &[
    (
        "silo",
        "id(int,auto) src_addr(string) dst_addr(string) username(string) domain(string) \
         inc_time(int) exp_time(int) snd_time(int) ctype(string) body(string,null) \
         extra_hdrs(string,null) callid(string,null) status(int,null) ",
        8,
    ),
    (
        "presentity",
        "id(int,auto) username(string) domain(string) event(string) etag(string) \
         expires(int) received_time(int) body(string) sender(string) priority(int) \
         ruid(string,null) ",
        5,
    ),
    (
        "active_watchers",
        "id(int,auto) presentity_uri(string) watcher_username(string) \
         watcher_domain(string) to_user(string) to_domain(string) event(string) \
         event_id(string,null) to_tag(string) from_tag(string) callid(string) \
         local_cseq(int) remote_cseq(int) contact(string) record_route(string,null) \
         expires(int) status(int) reason(string,null) version(int) socket_info(string) \
         local_contact(string) from_user(string) from_domain(string) updated(int) \
         updated_winfo(int) flags(int) user_agent(string,null) ",
        12,
    ),
    (
        "watchers",
        "id(int,auto) presentity_uri(string) watcher_username(string) \
         watcher_domain(string) event(string) status(int) reason(string,null) \
         inserted_time(int) ",
        3,
    ),
    (
        "xcap",
        "id(int,auto) username(string) domain(string) doc(string) doc_type(int) \
         etag(string) source(int) doc_uri(string) port(int) ",
        4,
    ),
];

/// Writes the db_text tables into `dir`.
pub(crate) fn write_db(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| LabError::io("create the db_text folder", e))?;
    let mut version = String::from("id(int,auto) table_name(string) table_version(int) \n");
    for (name, columns, v) in TABLES {
        std::fs::write(dir.join(name), format!("{columns}\n"))
            .map_err(|e| LabError::io(format!("write db_text table {name}"), e))?;
        let _ = writeln!(version, "0:{name}:{v}");
    }
    std::fs::write(dir.join("version"), version)
        .map_err(|e| LabError::io("write db_text table version", e))
}

/// Module loads and parameters (after the core modules of the script).
pub(crate) fn modules(ip: Ipv4Addr, port: u16) -> String {
    format!(
        "\nloadmodule \"db_text.so\"\nloadmodule \"presence.so\"\nloadmodule \"presence_xml.so\"\n\
         loadmodule \"presence_mwi.so\"\n\
         loadmodule \"msilo.so\"\n\
         modparam(\"presence\", \"db_url\", \"text://{DB_DIR}\")\n\
         modparam(\"presence\", \"subs_db_mode\", 0)\n\
         modparam(\"presence\", \"server_address\", \"sip:{ip}:{port}\")\n\
         modparam(\"presence_xml\", \"db_url\", \"text://{DB_DIR}\")\n\
         modparam(\"presence_xml\", \"force_active\", 1)\n\
         modparam(\"msilo\", \"db_url\", \"text://{DB_DIR}\")\n\
         modparam(\"msilo\", \"outbound_proxy\", \"sip:{ip}:{port}\")\n\
         modparam(\"msilo\", \"add_date\", 0)\n"
    )
}

/// Hooks the presence and msilo routes into the rendered script. msilo's own MESSAGEs
/// (from kamailio's address, on behalf of our users) are not challenged.
pub(crate) fn hook_routes(script: &str, ip: Ipv4Addr, port: u16) -> String {
    script
        .replacen(
            "if (from_uri == myself && !has_totag() && ",
            &format!(
                "if (from_uri == myself && !has_totag() && !($si == \"{ip}\" && $sp == {port}) && "
            ),
            1,
        )
        .replacen(
            "\troute(WITHINDLG);\n",
            "\tif (has_totag() && is_method(\"SUBSCRIBE\") && uri == myself) {\n\
             \t\troute(PRESENCE);\n\t}\n\troute(WITHINDLG);\n",
            1,
        )
        .replacen(
            "\troute(AUTH);\n",
            "\troute(AUTH);\n\tif (is_method(\"PUBLISH|SUBSCRIBE\") && uri == myself) {\n\
             \t\troute(PRESENCE);\n\t}\n",
            1,
        )
        .replacen(
            "\t\tt_newtran();\n",
            "\t\tt_newtran();\n\t\tif (is_method(\"MESSAGE\") && $var(rc) != -2) {\n\
             \t\t\tif (m_store(\"$ru\")) {\n\t\t\t\tt_reply(\"202\", \"Accepted\");\n\
             \t\t\t} else {\n\t\t\t\tt_reply(\"503\", \"Service Unavailable\");\n\t\t\t}\n\
             \t\t\texit;\n\t\t}\n",
            1,
        )
        .replacen(
            "): saved\\n\");\n",
            "): saved\\n\");\n\tif (!($hdr(Expires) == \"0\" || $ct =~ \"expires=0\")) {\n\
             \t\tm_dump();\n\t}\n",
            1,
        )
        + PRESENCE_ROUTE
}

const PRESENCE_ROUTE: &str = r#"
route[PRESENCE] {
	if (!t_newtran()) {
		sl_reply_error();
		exit;
	}
	if (is_method("PUBLISH")) {
		handle_publish();
	} else {
		handle_subscribe();
	}
	t_release();
	exit;
}
"#;
