/**
 * The unsubscribe link's words in the 11 languages of the API's Unsubscribe option (the international
 * SDK's numbering: "1" English … "11" Indonesian), and those of the pages the link opens.
 */

/**
 * Link text (also the pages' title), the confirmation page's question and button, the page shown once
 * unsubscribed, the page of a link that is not valid, and the pages' `lang`.
 */
export interface UnsubscribeWords { lang: string; link: string; question: string; button: string; done: string; invalid: string }

export const UNSUBSCRIBE_WORDS: Readonly<Record<string, UnsubscribeWords>> = {
  1: {
    lang: 'en', link: 'Unsubscribe', question: 'Do you want to stop receiving emails from this sender?', button: 'Unsubscribe',
    done: 'You have been unsubscribed and will receive no more emails from this sender.', invalid: 'This unsubscribe link is not valid.',
  },
  2: {
    lang: 'zh-Hans', link: '退订', question: '确定不再接收该发件人的邮件吗？', button: '确认退订',
    done: '您已成功退订，将不再收到该发件人的邮件。', invalid: '此退订链接无效。',
  },
  3: {
    lang: 'zh-Hant', link: '退訂', question: '確定不再接收該寄件者的郵件嗎？', button: '確認退訂',
    done: '您已成功退訂，將不再收到該寄件者的郵件。', invalid: '此退訂連結無效。',
  },
  4: {
    lang: 'es', link: 'Cancelar suscripción', question: '¿Desea dejar de recibir correos de este remitente?', button: 'Cancelar la suscripción',
    done: 'Se ha cancelado su suscripción y no recibirá más correos de este remitente.', invalid: 'Este enlace para cancelar la suscripción no es válido.',
  },
  5: {
    lang: 'fr', link: 'Se désabonner', question: 'Voulez-vous ne plus recevoir de courriels de cet expéditeur ?', button: 'Me désabonner',
    done: 'Votre désabonnement est confirmé : vous ne recevrez plus de courriels de cet expéditeur.', invalid: 'Ce lien de désabonnement n’est pas valide.',
  },
  6: {
    lang: 'de', link: 'Abmelden', question: 'Möchten Sie keine E-Mails mehr von diesem Absender erhalten?', button: 'Jetzt abmelden',
    done: 'Sie wurden abgemeldet und erhalten keine E-Mails mehr von diesem Absender.', invalid: 'Dieser Abmeldelink ist ungültig.',
  },
  7: {
    lang: 'ja', link: '配信停止', question: 'この送信者からのメールの受信を停止しますか？', button: '配信を停止する',
    done: '配信を停止しました。この送信者からのメールは今後届きません。', invalid: 'この配信停止リンクは無効です。',
  },
  8: {
    lang: 'ko', link: '수신 거부', question: '이 발신자의 메일을 더 이상 받지 않으시겠습니까?', button: '수신 거부하기',
    done: '수신 거부가 완료되었습니다. 이 발신자의 메일을 더 이상 받지 않습니다.', invalid: '이 수신 거부 링크는 유효하지 않습니다.',
  },
  9: {
    lang: 'ar', link: 'إلغاء الاشتراك', question: 'هل تريد التوقف عن تلقي الرسائل من هذا المرسل؟', button: 'تأكيد إلغاء الاشتراك',
    done: 'تم إلغاء اشتراكك ولن تصلك رسائل أخرى من هذا المرسل.', invalid: 'رابط إلغاء الاشتراك هذا غير صالح.',
  },
  10: {
    lang: 'th', link: 'ยกเลิกการรับข่าวสาร', question: 'คุณต้องการหยุดรับอีเมลจากผู้ส่งรายนี้หรือไม่', button: 'ยืนยันการยกเลิก',
    done: 'คุณได้ยกเลิกการรับข่าวสารแล้ว และจะไม่ได้รับอีเมลจากผู้ส่งรายนี้อีก', invalid: 'ลิงก์ยกเลิกการรับข่าวสารนี้ไม่ถูกต้อง',
  },
  11: {
    lang: 'id', link: 'Berhenti berlangganan', question: 'Apakah Anda ingin berhenti menerima email dari pengirim ini?', button: 'Berhenti berlangganan',
    done: 'Anda telah berhenti berlangganan dan tidak akan menerima email lagi dari pengirim ini.', invalid: 'Tautan berhenti berlangganan ini tidak valid.',
  },
};

/**
 * The words of a language option, English when it has none. The option comes from a link anyone
 * can edit (`?l=__proto__`), so only the table's own keys count: an inherited property such as
 * `__proto__` or `constructor` would otherwise stand in for the words.
 */
export function unsubscribeWords(language: string | null | undefined): UnsubscribeWords {
  return typeof language === 'string' && Object.hasOwn(UNSUBSCRIBE_WORDS, language) ? UNSUBSCRIBE_WORDS[language] : UNSUBSCRIBE_WORDS[1];
}
