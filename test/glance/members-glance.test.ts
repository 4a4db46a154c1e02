import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { glanceEnv, type GlanceEnv } from '../helpers/glance.js';
import { GLANCE_TRANSCRIPT, IMAGED_DIFFERENCES, memberScenario } from '../api/members-scenario.js';

// The image-members scenario side by side: Debian's real glance-api 25 (test/env/glance.sh, noauthowner
// pipeline) and imaged. Glance must still answer its recorded transcript (which test/api/members.test.ts holds
// imaged to), and the two must agree everywhere but the differences imaged keeps on purpose.

const t = suite<{ g: GlanceEnv; d: TestDaemon }>('image members: glance-api 25 and imaged side by side');
t.before(async (ctx) => {
  ctx.g = glanceEnv();
  ctx.d = await startTestDaemon();
});
t.after(async (ctx) => ctx.d?.stop());

t('same answers, request by request', async ({ g, d }) => {
  const glance = await memberScenario(g.url);
  const imaged = await memberScenario(d.url);
  assert.is(imaged.length, glance.length);
  for (let i = 0; i < glance.length; i++) {
    assert.is(glance[i], GLANCE_TRANSCRIPT[i], `glance drifted from its recorded transcript at step ${i + 1}`);
    const [request] = glance[i].split(' -> ');
    if (request in IMAGED_DIFFERENCES) assert.is.not(imaged[i], glance[i], `kept difference no longer differs: ${request}`);
    else assert.is(imaged[i], glance[i], `step ${i + 1}`);
  }
});

t.run();
