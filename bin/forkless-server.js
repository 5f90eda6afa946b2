#!/usr/bin/env node
// forkless-server: the RESP server. The code is compiled TypeScript (npm run build / npm start).
import '../dist/engine/server/main.js';
