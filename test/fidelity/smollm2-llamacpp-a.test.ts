// SmolLM2-135M vs llama.cpp and transformers: prompts 1–3 of 5 (see smollm2.ts).
import { smollm2Tests } from './smollm2.js'

smollm2Tests([0, 1, 2])
