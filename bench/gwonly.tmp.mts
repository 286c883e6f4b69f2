import { runGatewayBench } from '/work/main/bench/gateway.bench';
await runGatewayBench(console.log);
