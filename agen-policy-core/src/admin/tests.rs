use serde_json::json;

use super::*;
use crate::decision::Action;
use crate::request::Request;

fn base() -> PolicySet {
    PolicySet::from_json(
        &json!({
            "connectors": [
                { "id": "github", "name": "GitHub", "tools": [
                    { "name": "list_repos", "title": "List" },
                    { "name": "delete_repo" },
                    { "name": "create_issue" } ] },
                { "id": "drive", "tools": [ { "name": "list_files" } ] } ],
            "groups": [ { "id": "eng", "name": "Engineering" }, { "id": "sales" } ],
            "users": [ { "id": "alice", "email": "a@x", "groups": ["eng"] }, { "id": "bob" } ],
            "approval_flows": [ { "id": "review", "steps": [ { "users": ["bob"] } ] } ],
            "policies": [
                { "id": "read", "name": "Read GitHub", "description": "Read only tools",
                  "connector": "github", "action": "allow", "all_users": true,
                  "tools": ["list_repos"] },
                { "id": "deletes", "name": "deletes need approval", "connector": "github",
                  "action": "request_approval", "groups": ["eng"], "users": ["bob", "bob"],
                  "tools": { "all": true, "exclude": ["list_repos"] },
                  "approval_flow": "review" },
                { "id": "drive-deny", "name": "No Drive", "connector": "drive",
                  "action": "deny", "all_users": true, "tools": "all" } ]
        })
        .to_string(),
    )
    .unwrap()
}

fn limits() -> Limits {
    Limits::default()
}

fn codes(e: &AdminError) -> Vec<(&'static str, &str)> {
    e.problems()
        .iter()
        .map(|p| (p.code().as_str(), p.path()))
        .collect()
}

fn decide(set: &PolicySet, user: &str, connector: &str, tool: &str) -> Action {
    set.evaluate(&Request::new(user, connector, tool).unwrap())
        .action()
}

// --- create ---------------------------------------------------------------------------------

#[test]
fn create_appends_a_policy_that_governs_nothing_yet() {
    let set = base();
    let mut draft = PolicyDraft::new("Issues for Eng!", "github", "step_up");
    draft.description = "Creating issues".into();
    let applied = create_policy(set.document(), &draft, &limits()).unwrap();
    assert_eq!(applied.policy_id(), Some("issues-for-eng"));
    let doc = applied.document();
    assert_eq!(doc.policies.len(), 4);
    let p = &doc.policies[3];
    assert_eq!(&*p.name, "Issues for Eng!");
    assert_eq!(p.action, Action::StepUp);
    assert!(!p.scope.all_users);
    assert!(p.tools.include.is_empty() && !p.tools.all);
    assert!(applied
        .warnings()
        .iter()
        .any(|w| w.code() == Code::GovernsNothing && w.path() == "/policies/3/tools"));
    // The original document is untouched.
    assert_eq!(set.document().policies.len(), 3);
}

#[test]
fn create_derives_unused_ids() {
    let set = base();
    let a = create_policy(
        set.document(),
        &PolicyDraft::new("Read", "github", "allow"),
        &limits(),
    )
    .unwrap();
    assert_eq!(a.policy_id(), Some("read-2"));
    let b = create_policy(
        a.document(),
        &PolicyDraft::new("read", "github", "allow"),
        &limits(),
    )
    .unwrap();
    assert_eq!(b.policy_id(), Some("read-3"));
    let c = create_policy(
        b.document(),
        &PolicyDraft::new("日本", "github", "allow"),
        &limits(),
    )
    .unwrap();
    assert_eq!(c.policy_id(), Some("policy"));
    let long = "x".repeat(300);
    let d = create_policy(
        c.document(),
        &PolicyDraft::new(long, "github", "allow"),
        &limits(),
    )
    .unwrap();
    assert_eq!(d.policy_id().unwrap().len(), 64);
}

#[test]
fn create_takes_an_explicit_id_and_all_users() {
    let set = base();
    let mut draft = PolicyDraft::new("Drive for all", "drive", "allow");
    draft.id = Some("drive-all".into());
    draft.all_users = true;
    let applied = create_policy(set.document(), &draft, &limits()).unwrap();
    assert_eq!(applied.policy_id(), Some("drive-all"));
    assert!(applied.document().policies[3].scope.all_users);
}

#[test]
fn create_refuses_every_problem_at_once() {
    let set = base();
    let mut draft = PolicyDraft::new(" \t", "gitlab", "maybe");
    draft.description = "d".repeat(161);
    draft.approval_flow = Some("nope".into());
    let e = create_policy(set.document(), &draft, &limits()).unwrap_err();
    let got = codes(&e);
    for want in [
        ("empty_name", "/policies/3/name"),
        ("description_too_long", "/policies/3/description"),
        ("unknown_connector", "/policies/3/connector"),
        ("invalid_document", "/policies/3/action"),
        ("unknown_approval_flow", "/policies/3/approval_flow"),
    ] {
        assert!(got.contains(&want), "{want:?} not in {got:?}");
    }
    assert_eq!(e.policy_path(), Some("/policies/3"));
    assert_eq!(e.code(), e.problems()[0].code());
    assert!(e.to_string().starts_with("edit refused ("));
}

#[test]
fn create_counts_description_in_characters() {
    let set = base();
    let mut draft = PolicyDraft::new("Emoji", "github", "allow");
    draft.description = "é".repeat(160);
    assert!(create_policy(set.document(), &draft, &limits()).is_ok());
    draft.description.push('é');
    let e = create_policy(set.document(), &draft, &limits()).unwrap_err();
    assert_eq!(
        codes(&e),
        [("description_too_long", "/policies/3/description")]
    );
}

#[test]
fn create_refuses_a_taken_or_empty_id() {
    let set = base();
    let mut draft = PolicyDraft::new("Again", "github", "allow");
    draft.id = Some("read".into());
    let e = create_policy(set.document(), &draft, &limits()).unwrap_err();
    assert_eq!(codes(&e), [("duplicate_id", "/policies/3/id")]);
    draft.id = Some(String::new());
    let e = create_policy(set.document(), &draft, &limits()).unwrap_err();
    assert_eq!(codes(&e), [("invalid_document", "/policies/3/id")]);
}

#[test]
fn create_refuses_beyond_the_policy_limit() {
    let set = base();
    let small = Limits {
        max_policies: 3,
        ..Limits::default()
    };
    let e = create_policy(
        set.document(),
        &PolicyDraft::new("One more", "github", "allow"),
        &small,
    )
    .unwrap_err();
    assert_eq!(e.code(), Code::LimitExceeded);
}

#[test]
fn drafts_read_from_json_refuse_unknown_fields() {
    let ok: PolicyDraft =
        serde_json::from_value(json!({"name": "n", "connector": "c", "action": "allow"})).unwrap();
    assert_eq!(ok, PolicyDraft::new("n", "c", "allow"));
    assert!(serde_json::from_value::<PolicyDraft>(
        json!({"name": "n", "connector": "c", "action": "allow", "acton": "deny"})
    )
    .is_err());
    assert!(
        serde_json::from_value::<PolicyDraft>(json!({"connector": "c", "action": "allow"}))
            .is_err()
    );
}

// --- settings -------------------------------------------------------------------------------

fn settings(name: &str, action: &str) -> PolicySettings {
    PolicySettings {
        name: name.into(),
        description: String::new(),
        action: action.into(),
        all_users: false,
        approval_flow: None,
    }
}

#[test]
fn settings_replace_name_action_and_scope_toggle() {
    let set = base();
    assert_eq!(decide(&set, "carol", "github", "list_repos"), Action::Allow);
    let mut s = settings("Read, now step up", "step_up");
    s.all_users = true;
    s.description = "changed".into();
    let applied = update_settings(set.document(), "read", &s, &limits()).unwrap();
    let p = &applied.document().policies[0];
    assert_eq!(&*p.name, "Read, now step up");
    assert_eq!(&*p.description, "changed");
    assert_eq!(p.action, Action::StepUp);
    assert_eq!(applied.policy_id(), Some("read"));
    assert_eq!(
        decide(applied.set(), "carol", "github", "list_repos"),
        Action::StepUp
    );
    // Turning the toggle off keeps the policy's users and groups.
    let off = update_settings(
        set.document(),
        "deletes",
        &settings("d", "request_approval"),
        &limits(),
    )
    .unwrap();
    assert_eq!(off.document().policies[1].scope.groups.len(), 1);
    assert!(off.document().policies[1].approval_flow.is_none());
}

#[test]
fn settings_refuse_each_bad_field() {
    let set = base();
    let mut s = settings("", "sometimes");
    s.description = "x".repeat(200);
    s.approval_flow = Some("missing".into());
    let e = update_settings(set.document(), "deletes", &s, &limits()).unwrap_err();
    assert_eq!(
        codes(&e),
        [
            ("empty_name", "/policies/1/name"),
            ("description_too_long", "/policies/1/description"),
            ("invalid_document", "/policies/1/action"),
            ("unknown_approval_flow", "/policies/1/approval_flow"),
        ]
    );
    assert_eq!(e.policy_path(), Some("/policies/1"));
}

#[test]
fn every_edit_refuses_an_unknown_policy() {
    let set = base();
    let doc = set.document();
    let l = limits();
    let ids = ["ghost".to_owned()];
    let errors = [
        update_settings(doc, "ghost", &settings("n", "allow"), &l).unwrap_err(),
        set_tools(doc, "ghost", &ToolToggles::default(), &l).unwrap_err(),
        add_users(doc, "ghost", &ids, &l).unwrap_err(),
        remove_users(doc, "ghost", &ids, &l).unwrap_err(),
        add_groups(doc, "ghost", &ids, &l).unwrap_err(),
        remove_groups(doc, "ghost", &ids, &l).unwrap_err(),
        set_targeting(
            doc,
            "ghost",
            &TargetingEdit {
                rules: vec![],
                otherwise: "deny".into(),
            },
            &l,
        )
        .unwrap_err(),
        delete_policy(doc, "ghost", &l).unwrap_err(),
    ];
    for e in errors {
        assert_eq!(codes(&e), [("unknown_policy", "/policies")]);
        assert_eq!(e.code().as_str(), "unknown_policy");
        assert!(e.problems()[0].message().contains("`ghost`"));
        assert_eq!(e.policy_path(), None);
    }
}

// --- tools ----------------------------------------------------------------------------------

fn toggles(all: bool, tools: &[(&str, bool)]) -> ToolToggles {
    ToolToggles {
        all,
        tools: tools
            .iter()
            .map(|(name, on)| ToolToggle {
                name: (*name).into(),
                on: *on,
            })
            .collect(),
    }
}

#[test]
fn tools_master_on_excludes_the_tools_switched_off() {
    let set = base();
    let applied = set_tools(
        set.document(),
        "read",
        &toggles(true, &[("delete_repo", false), ("list_repos", true)]),
        &limits(),
    )
    .unwrap();
    let sel = &applied.document().policies[0].tools;
    assert!(sel.all);
    assert_eq!(sel.exclude, vec!["delete_repo".into()]);
    assert!(sel.include.is_empty());
    assert_eq!(
        decide(applied.set(), "carol", "github", "create_issue"),
        Action::Allow
    );
    assert_eq!(
        decide(applied.set(), "carol", "github", "delete_repo"),
        Action::Deny
    );
}

#[test]
fn tools_master_off_includes_the_tools_switched_on() {
    let set = base();
    let applied = set_tools(
        set.document(),
        "read",
        &toggles(
            false,
            &[
                ("create_issue", true),
                ("list_repos", false),
                ("create_issue", true),
            ],
        ),
        &limits(),
    )
    .unwrap();
    let sel = &applied.document().policies[0].tools;
    assert!(!sel.all);
    assert_eq!(sel.include, vec!["create_issue".into()]);
    assert_eq!(
        decide(applied.set(), "carol", "github", "list_repos"),
        Action::Deny
    );
    // All off: the policy governs nothing, and says so in a warning.
    let none = set_tools(set.document(), "read", &toggles(false, &[]), &limits()).unwrap();
    assert!(none
        .warnings()
        .iter()
        .any(|w| w.code() == Code::GovernsNothing));
}

#[test]
fn tools_refuse_a_tool_of_another_connector_whatever_its_toggle() {
    let set = base();
    for (all, on) in [(true, true), (true, false), (false, true), (false, false)] {
        let e = set_tools(
            set.document(),
            "read",
            &toggles(all, &[("list_files", on), ("nope", on)]),
            &limits(),
        )
        .unwrap_err();
        assert_eq!(
            codes(&e),
            [
                ("unknown_tool", "/policies/0/tools"),
                ("unknown_tool", "/policies/0/tools")
            ],
            "{all} {on}"
        );
        assert!(e.problems()[0].message().contains("`list_files`"));
    }
}

// --- users and groups -----------------------------------------------------------------------

#[test]
fn users_are_added_once_and_removed() {
    let set = base();
    let ids = ["alice".to_owned(), "bob".to_owned(), "alice".to_owned()];
    let added = add_users(set.document(), "deletes", &ids, &limits()).unwrap();
    assert_eq!(
        added.document().policies[1].scope.users,
        vec!["bob".into(), "bob".into(), "alice".into()]
    );
    let removed = remove_users(added.document(), "deletes", &["bob".into()], &limits()).unwrap();
    assert_eq!(
        removed.document().policies[1].scope.users,
        vec!["alice".into()]
    );
    // Removing an id the policy does not hold changes nothing.
    let same = remove_users(removed.document(), "deletes", &["zed".into()], &limits()).unwrap();
    assert_eq!(same.set().version(), removed.set().version());
}

#[test]
fn a_user_outside_the_directory_is_a_warning_and_an_empty_id_is_refused() {
    let set = base();
    let applied = add_users(set.document(), "read", &["zoe".into()], &limits()).unwrap();
    assert!(applied
        .warnings()
        .iter()
        .any(|w| w.code() == Code::UnknownUser && w.path() == "/policies/0/users/0"));
    let e = add_users(set.document(), "read", &[String::new()], &limits()).unwrap_err();
    assert_eq!(codes(&e), [("invalid_document", "/policies/0/users/0")]);
    let e = add_groups(set.document(), "read", &[String::new()], &limits()).unwrap_err();
    assert_eq!(codes(&e), [("invalid_document", "/policies/0/groups/0")]);
}

#[test]
fn groups_are_added_and_removed_and_change_decisions() {
    let set = base();
    let added = add_groups(set.document(), "deletes", &["sales".into()], &limits()).unwrap();
    assert_eq!(
        added.document().policies[1].scope.groups,
        vec!["eng".into(), "sales".into()]
    );
    let req = Request::builder("sam", "github", "delete_repo")
        .group("sales")
        .build()
        .unwrap();
    assert_eq!(added.set().evaluate(&req).action(), Action::RequestApproval);
    let removed = remove_groups(
        added.document(),
        "deletes",
        &["sales".into(), "eng".into()],
        &limits(),
    )
    .unwrap();
    assert!(removed.document().policies[1].scope.groups.is_empty());
    assert_eq!(removed.set().evaluate(&req).action(), Action::Deny);
}

// --- targeting ------------------------------------------------------------------------------

fn condition(attribute: &str, operator: &str, values: Vec<Value>) -> ConditionEdit {
    ConditionEdit {
        attribute: attribute.into(),
        operator: operator.into(),
        values,
        negate: false,
        ignore_case: false,
    }
}

#[test]
fn targeting_is_set_and_decides() {
    let set = base();
    let t = TargetingEdit {
        rules: vec![RuleEdit {
            conditions: vec![
                condition("agent.type", "equals", vec![json!("ChatGPT")]),
                condition("request.ip", "in_cidr", vec![json!("10.0.0.0/8")]),
            ],
        }],
        otherwise: "step_up".into(),
    };
    let applied = set_targeting(set.document(), "read", &t, &limits()).unwrap();
    let targeting = applied.document().policies[0].targeting.as_ref().unwrap();
    assert_eq!(targeting.rules[0].conditions.len(), 2);
    let both = Request::builder("carol", "github", "list_repos")
        .context("agent.type", "ChatGPT")
        .context("request.ip", "10.1.2.3")
        .build()
        .unwrap();
    assert_eq!(applied.set().evaluate(&both).action(), Action::Allow);
    let one = Request::builder("carol", "github", "list_repos")
        .context("agent.type", "ChatGPT")
        .build()
        .unwrap();
    assert_eq!(applied.set().evaluate(&one).action(), Action::StepUp);
    // No rules: the targeting goes away.
    let cleared = set_targeting(
        applied.document(),
        "read",
        &TargetingEdit {
            rules: vec![],
            otherwise: "deny".into(),
        },
        &limits(),
    )
    .unwrap();
    assert!(cleared.document().policies[0].targeting.is_none());
    assert_eq!(cleared.set().version(), set.version());
}

#[test]
fn targeting_refuses_every_bad_condition() {
    let set = base();
    let t = TargetingEdit {
        rules: vec![
            RuleEdit {
                conditions: vec![
                    condition("agent.type", "resembles", vec![json!("x")]),
                    condition("n", "lt", vec![json!("ten")]),
                    condition("", "exists", vec![]),
                ],
            },
            RuleEdit { conditions: vec![] },
            RuleEdit {
                conditions: vec![ConditionEdit {
                    ignore_case: true,
                    ..condition("n", "gt", vec![json!(1)])
                }],
            },
        ],
        otherwise: "perhaps".into(),
    };
    let e = set_targeting(set.document(), "read", &t, &limits()).unwrap_err();
    let got = codes(&e);
    let r = "/policies/0/targeting";
    for want in [
        (
            "invalid_condition",
            format!("{r}/rules/0/conditions/0/operator"),
        ),
        (
            "invalid_condition",
            format!("{r}/rules/0/conditions/1/values/0"),
        ),
        (
            "invalid_document",
            format!("{r}/rules/0/conditions/2/attribute"),
        ),
        ("invalid_targeting", format!("{r}/rules/1/conditions")),
        (
            "invalid_condition",
            format!("{r}/rules/2/conditions/0/ignore_case"),
        ),
        ("invalid_document", format!("{r}/otherwise")),
    ] {
        assert!(
            got.contains(&(want.0, want.1.as_str())),
            "{want:?} not in {got:?}"
        );
    }
    // Without rules, `otherwise` is still checked.
    let e = set_targeting(
        set.document(),
        "read",
        &TargetingEdit {
            rules: vec![],
            otherwise: "perhaps".into(),
        },
        &limits(),
    )
    .unwrap_err();
    assert_eq!(
        codes(&e),
        [("invalid_document", "/policies/0/targeting/otherwise")]
    );
}

#[test]
fn targeting_reads_from_json_with_defaults() {
    let t: TargetingEdit = serde_json::from_value(json!({
        "rules": [ { "conditions": [ { "attribute": "a", "operator": "exists" } ] } ]
    }))
    .unwrap();
    assert_eq!(t.otherwise, "deny");
    assert!(serde_json::from_value::<TargetingEdit>(json!({"rules": [], "else": "deny"})).is_err());
}

// --- delete ---------------------------------------------------------------------------------

#[test]
fn delete_removes_the_policy_and_its_effect() {
    let set = base();
    assert_eq!(decide(&set, "carol", "drive", "list_files"), Action::Deny);
    let applied = delete_policy(set.document(), "read", &limits()).unwrap();
    assert_eq!(applied.policy_id(), None);
    assert_eq!(applied.document().policies.len(), 2);
    assert!(applied.document().policies.iter().all(|p| &*p.id != "read"));
    assert_eq!(
        decide(applied.set(), "carol", "github", "list_repos"),
        Action::Deny
    );
}

// --- table ----------------------------------------------------------------------------------

fn ids(rows: &[Row]) -> Vec<&str> {
    rows.iter().map(|r| r.id.as_str()).collect()
}

#[test]
fn rows_count_users_groups_and_tools() {
    let set = base();
    let rows = table(set.document(), &TableQuery::default());
    assert_eq!(ids(&rows), ["read", "deletes", "drive-deny"]);
    assert_eq!(rows[0].users, "All users");
    assert!(rows[0].all_users);
    assert_eq!(rows[0].tools, 1);
    assert_eq!(rows[0].connector_name, "GitHub");
    assert_eq!(rows[1].users, "1"); // `bob` twice counts once
    assert_eq!(rows[1].user_count, 1);
    assert_eq!(rows[1].groups, 1);
    assert_eq!(rows[1].tools, 2);
    assert_eq!(rows[2].connector_name, "drive");
    assert_eq!(rows[2].tools, 1);
}

#[test]
fn search_reads_name_description_and_application_id_ignoring_case() {
    let set = base();
    let q = |s: &str| TableQuery {
        search: s.into(),
        ..TableQuery::default()
    };
    assert_eq!(ids(&table(set.document(), &q("READ ONLY"))), ["read"]);
    assert_eq!(ids(&table(set.document(), &q("deletes"))), ["deletes"]);
    assert_eq!(ids(&table(set.document(), &q("drive"))), ["drive-deny"]);
    assert_eq!(ids(&table(set.document(), &q(" github "))).len(), 2);
    assert_eq!(ids(&table(set.document(), &q("  "))).len(), 3);
    assert!(table(set.document(), &q("zzz")).is_empty());
}

#[test]
fn filter_by_action_and_sort_by_name_or_restrictiveness() {
    let set = base();
    let filtered = table(
        set.document(),
        &TableQuery {
            action: Some(Action::Deny),
            ..TableQuery::default()
        },
    );
    assert_eq!(ids(&filtered), ["drive-deny"]);
    let by_name = TableQuery {
        sort: SortKey::Name,
        ..TableQuery::default()
    };
    assert_eq!(
        ids(&table(set.document(), &by_name)),
        ["deletes", "drive-deny", "read"]
    );
    let by_action = TableQuery {
        sort: SortKey::Action,
        ..TableQuery::default()
    };
    assert_eq!(
        ids(&table(set.document(), &by_action)),
        ["read", "deletes", "drive-deny"]
    );
    let down = TableQuery {
        descending: true,
        ..by_action
    };
    assert_eq!(
        ids(&table(set.document(), &down)),
        ["drive-deny", "deletes", "read"]
    );
    let q: TableQuery =
        serde_json::from_value(json!({"action": "step_up", "sort": "name"})).unwrap();
    assert_eq!(q.action, Some(Action::StepUp));
    assert!(serde_json::from_value::<TableQuery>(json!({"sort": "size"})).is_err());
}

// --- detail ---------------------------------------------------------------------------------

#[test]
fn detail_shows_toggles_and_members() {
    let set = base();
    let applied = add_users(set.document(), "deletes", &["zoe".into()], &limits()).unwrap();
    let d = policy_detail(applied.document(), "deletes").unwrap();
    assert_eq!(d.index, 1);
    assert_eq!(d.connector_name, "GitHub");
    let on: Vec<(&str, bool)> = d.tools.iter().map(|t| (t.name, t.on)).collect();
    assert_eq!(
        on,
        [
            ("list_repos", false),
            ("delete_repo", true),
            ("create_issue", true)
        ]
    );
    let users: Vec<(&str, bool, bool)> = d
        .users
        .iter()
        .map(|u| (u.id, u.member, u.in_directory))
        .collect();
    assert_eq!(
        users,
        [
            ("alice", false, true),
            ("bob", true, true),
            ("zoe", true, false)
        ]
    );
    assert_eq!(d.users[0].detail, Some("a@x"));
    let groups: Vec<(&str, bool)> = d.groups.iter().map(|g| (g.id, g.member)).collect();
    assert_eq!(groups, [("eng", true), ("sales", false)]);
    assert!(policy_detail(applied.document(), "ghost").is_none());
}
