'use strict';
// Runs the TypeScript demo straight from the sources: `npm run demo`.
require('../scripts/register-ts');
require('./demo.ts');
