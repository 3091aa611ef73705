//! server's integration tests, one binary: real HTTP on port 0 against a real
//! SQLite file in a temporary folder.

mod audit;
mod backup;
mod bad_input;
mod bootstrap;
mod boundaries;
mod cli;
mod crash;
mod demo;
mod demo_week;
mod equivocation;
mod exports;
mod failing_disk;
mod harness;
mod headers;
mod hostile;
mod instances;
mod need_to_know;
mod on_postgres;
mod openapi;
mod operability;
mod outside_dates;
mod pages;
mod phone;
mod request_log;
mod resolve;
mod returns;
mod roles;
mod simulator;
mod sync;
mod tls;
