//! The integration tests, one binary: each module is one area's tests (`cargo test canary::`
//! runs one of them), `common`, `db_rig` and `s3_rig` are what they share. One binary links once
//! instead of once per file. A test that needs a process of its own (it sets environment
//! variables, or installs the global logger) runs its body in a child of this binary
//! (`common::alone`).

mod common;
mod db_rig;
mod s3_rig;

mod alerts_robots;
mod canary;
mod client_sim;
mod client_sim_deletions;
mod client_sim_groups;
mod custom_keys;
mod docs;
mod engine_cli;
mod engine_commands;
mod engine_crash;
mod engine_faults;
mod engine_group_cap;
mod engine_import;
mod engine_limits;
mod engine_paging;
mod exactly_once;
mod export_db;
mod export_deletions;
mod export_window;
mod history_since;
mod hygiene;
mod media_fetch;
mod media_inventory;
mod media_rehost;
mod media_s3;
mod metrics_scrape;
mod paging;
mod plan_whole_window;
mod plan_window;
mod precopy_window;
mod preflight_target;
mod report;
mod robustness;
mod rollback;
mod same_second;
mod sample_data;
mod scenario;
mod sim_cli;
mod sim_contract;
mod sim_limits;
mod store_lock;
mod sync;
mod sync_apply;
mod sync_crash;
mod sync_deletions;
mod sync_faults;
mod tui_attach;
mod tui_detach;
mod tui_flow;
mod tui_pty;
mod tui_snapshots;
mod usersig_cli;
mod validate_cli;
mod verify;
mod verify_deletions;
mod window_deletions;
mod window_deletions_crash;
mod window_key_sets;
