// Registration of every command family that is built in.
#pragma once

#include <CLI/CLI.hpp>

namespace medledger::app {

#ifdef MEDLEDGER_WITH_HSM
void register_hsm_commands(CLI::App& app);  // token ..., key ...
#endif
#ifdef MEDLEDGER_WITH_CA
void register_ca_commands(CLI::App& app);  // ca ...
#endif
#ifdef MEDLEDGER_WITH_LEDGER
void register_ledger_commands(CLI::App& app);  // ledger ...
#endif
#ifdef MEDLEDGER_WITH_NODE
void register_node_commands(CLI::App& app);  // node, enrol, record, access, audit, hospital
void register_audit_commands(CLI::App& app);  // audit bundle|events|verify (audit_commands.cpp)
#endif
#ifdef MEDLEDGER_WITH_API
void register_api_commands(CLI::App& app);    // serve
void register_bench_commands(CLI::App& app);  // bench (bench_commands.cpp)
#endif

inline void register_commands(CLI::App& app) {
#ifdef MEDLEDGER_WITH_HSM
  register_hsm_commands(app);
#endif
#ifdef MEDLEDGER_WITH_CA
  register_ca_commands(app);
#endif
#ifdef MEDLEDGER_WITH_LEDGER
  register_ledger_commands(app);
#endif
#ifdef MEDLEDGER_WITH_NODE
  register_node_commands(app);
  register_audit_commands(app);  // adds to node's `audit`
#endif
#ifdef MEDLEDGER_WITH_API
  register_api_commands(app);
  register_bench_commands(app);
#endif
  (void)app;
}

}  // namespace medledger::app
