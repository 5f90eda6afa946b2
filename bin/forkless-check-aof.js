#!/usr/bin/env node
// forkless-check-aof: redis-check-aof for forkless (and Redis 7.0) AOF directories and files.
import '../dist/engine/persist/check-aof-cli.js';
