// reglab lab: quick checks under each demo (<section id="quick-check" data-demo="...">) and the final
// quiz page (<section id="quiz">). Answers are kept in this browser only (localStorage).
import { QUESTIONS, QUIZ_KEY } from "/static/quiz-data.js";

function load() {
  try {
    return JSON.parse(localStorage.getItem(QUIZ_KEY) || "{}");
  } catch (err) {
    return {};
  }
}

function save(answers) {
  try {
    localStorage.setItem(QUIZ_KEY, JSON.stringify(answers));
  } catch (err) {
    // storage disabled: the quiz still works, it just forgets on reload
  }
}

function score() {
  const answers = load();
  const right = QUESTIONS.filter((q) => answers[q.id] === q.answer).length;
  const box = document.getElementById("quiz-score");
  if (box) box.textContent = `${right} of ${QUESTIONS.length} answered correctly (${Object.keys(answers).length} answered).`;
}

function render(container, questions) {
  const answers = load();
  questions.forEach((q, n) => {
    const form = document.createElement("form");
    form.className = "question";
    form.id = `q-${q.id}`;
    const set = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = `${n + 1}. ${q.prompt}`;
    set.appendChild(legend);
    q.choices.forEach((choice, i) => {
      const label = document.createElement("label");
      label.className = "choice";
      const input = document.createElement("input");
      input.type = "radio";
      input.name = q.id;
      input.value = String(i);
      label.append(input, " ", choice);
      set.appendChild(label);
    });
    const check = document.createElement("button");
    check.type = "submit";
    check.textContent = "Check";
    const feedback = document.createElement("div");
    feedback.className = "feedback";
    feedback.setAttribute("role", "status");
    feedback.hidden = true;
    set.append(check, feedback);
    form.appendChild(set);
    container.appendChild(form);

    const show = (chosen) => {
      const right = chosen === q.answer;
      feedback.hidden = false;
      feedback.className = `feedback ${right ? "right" : "wrong"}`;
      feedback.replaceChildren();
      const verdict = document.createElement("strong");
      verdict.textContent = right ? "Right. " : `Not quite: the answer is “${q.choices[q.answer]}”. `;
      const text = document.createElement("span");
      text.className = "explanation";
      text.textContent = q.explanation;
      feedback.append(verdict, text);
      if (q.link) {
        const a = document.createElement("a");
        a.href = q.link;
        a.textContent = "Open the demo set up to show this";
        feedback.append(" ", a);
      }
    };
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const picked = form.querySelector("input:checked");
      if (!picked) {
        feedback.hidden = false;
        feedback.className = "feedback";
        feedback.textContent = "Pick an answer first.";
        return;
      }
      const chosen = Number(picked.value);
      const all = load();
      all[q.id] = chosen;
      save(all);
      show(chosen);
      score();
    });
    if (q.id in answers) {
      const input = form.querySelector(`input[value="${answers[q.id]}"]`);
      if (input) input.checked = true;
      show(answers[q.id]);
    }
  });
}

const quick = document.getElementById("quick-check");
if (quick) {
  const list = document.createElement("div");
  quick.appendChild(list);
  render(list, QUESTIONS.filter((q) => q.demo === quick.dataset.demo));
}
const quiz = document.getElementById("quiz");
if (quiz) {
  render(quiz, QUESTIONS);
  score();
  document.getElementById("quiz-reset")?.addEventListener("click", () => {
    save({});
    quiz.replaceChildren();
    render(quiz, QUESTIONS);
    score();
  });
}
