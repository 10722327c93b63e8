// SmolLM2-135M vs llama.cpp and transformers: prompts 4–5 of 5 (see smollm2.ts).
import { smollm2Tests } from './smollm2.js'

smollm2Tests([3, 4])
